/** Thrown at start-up for a backend the config describes but this build cannot drive. */
export class BackendConfigError extends Error {}
