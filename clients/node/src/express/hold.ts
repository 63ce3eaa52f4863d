// Holding a response back until asynchronous work is done, so that nothing of it (status line,
// headers, body) reaches the client before that work succeeded.
import { OutgoingHttpHeaders, ServerResponse } from "node:http";

type Headers = OutgoingHttpHeaders | (string | string[])[];

/**
 * Makes the first writeHead, write or end of `res` wait for `before()` when `needed()` says so
 * at that moment: writeHead only records the status and headers, and write and end calls queue up
 * until `before()` resolves, then replay in order. When `before()` rejects, the queued calls are
 * dropped, every header the handler set is removed, and `onError(error)` must produce the response.
 * When `needed()` is false the response goes out untouched.
 */
export function holdResponse(
  res: ServerResponse,
  needed: () => boolean,
  before: () => Promise<void>,
  onError: (error: unknown) => void,
): void {
  const writeHead = res.writeHead.bind(res);
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  const queue: (() => void)[] = [];
  let holding = false;
  const restore = () => Object.assign(res, { writeHead, write, end });

  res.writeHead = function (this: ServerResponse, statusCode: number, ...rest: unknown[]) {
    if (!needed()) {
      restore();
      return writeHead(statusCode, ...(rest as []));
    }
    this.statusCode = statusCode;
    if (typeof rest[0] === "string") this.statusMessage = rest.shift() as string;
    setHeaders(this, rest[0] as Headers | undefined);
    return this;
  };

  const intercept = <F extends (...args: never[]) => unknown>(original: F, result: () => ReturnType<F>) =>
    function (...args: Parameters<F>) {
      if (!holding) {
        if (!needed()) {
          restore();
          return original(...args);
        }
        holding = true;
        before().then(
          () => {
            restore();
            for (const call of queue.splice(0)) call();
          },
          (error: unknown) => {
            restore();
            queue.length = 0;
            for (const name of res.getHeaderNames()) res.removeHeader(name);
            onError(error);
          },
        );
      }
      queue.push(() => original(...args));
      return result();
    } as unknown as F;

  res.write = intercept(write, () => true);
  res.end = intercept(end, () => res);
}

function setHeaders(res: ServerResponse, headers: Headers | undefined): void {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) res.setHeader(String(headers[i]), headers[i + 1]);
  } else {
    for (const [name, value] of Object.entries(headers ?? {})) if (value !== undefined) res.setHeader(name, value);
  }
}
