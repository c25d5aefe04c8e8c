/** DI token: the directory of the built console bundle. */
export const CONSOLE_DIR = Symbol('CONSOLE_DIR');
