// pino ships no types for its browser build; it exposes the same factory.
declare module 'pino/browser.js' {
  import pino from 'pino';
  export default pino;
}
