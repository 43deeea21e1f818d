/** This package's version, sent in User-Agent (a test checks it against package.json). */
export const CLIENT_VERSION = '0.1.0';
