declare module 'asl-validator' {
  export interface AslValidatorOptions {
    checkPaths?: boolean;
    checkArn?: boolean;
  }
  export interface AslValidationError {
    'Error code': string;
    Message: string;
    [key: string]: unknown;
  }
  export interface AslValidatorResult {
    isValid: boolean;
    errors: AslValidationError[];
    errorsText(separator?: string): string;
  }
  export default function aslValidator(
    definition: unknown,
    options?: AslValidatorOptions,
  ): AslValidatorResult;
}
