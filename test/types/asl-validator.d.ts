/** Types of asl-validator 4 (it ships none): `validator(definition, options)`. */
declare module 'asl-validator' {
  interface AslValidatorOptions {
    /** Check JSONPath/JSONata expressions in paths (default true). */
    checkPaths?: boolean;
    /** Check that Task `Resource` values are ARNs (default true). */
    checkArn?: boolean;
  }
  interface AslValidatorError {
    'Error code': string;
    Message: string;
  }
  interface AslValidatorResult {
    isValid: boolean;
    errors: AslValidatorError[];
    errorsText: (separator?: string) => string;
  }
  function validator(definition: unknown, options?: AslValidatorOptions): AslValidatorResult;
  export = validator;
}
