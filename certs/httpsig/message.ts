/**
 * The plain HTTP message shapes this library signs and verifies. Header names may be in any case
 * (Node's incoming headers are lowercase; hand-built ones often are not); a header sent several
 * times is either an array of field lines or one value already joined with ", ".
 */
export type HeaderValue = string | string[] | undefined;
export type Headers = Record<string, HeaderValue>;

export interface RequestMessage {
  method: string;
  /** The absolute target URI, e.g. `https://gateway.example/v1/data/x?y=1`. */
  url: string;
  headers: Headers;
}

export interface ResponseMessage {
  status: number;
  headers: Headers;
  /** The request this response answers; needed for components with `;req`. */
  request?: RequestMessage;
}

export type HttpMessage = RequestMessage | ResponseMessage;

export function isResponse(message: HttpMessage): message is ResponseMessage {
  return typeof (message as ResponseMessage).status === 'number';
}

/** The field lines of a header (case-insensitive name), or undefined when it was not sent. */
export function fieldLines(headers: Headers, name: string): string[] | undefined {
  let value = headers[name];
  if (value === undefined) {
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === name) {
        value = headers[key];
        break;
      }
    }
  }
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}

/** A header's field lines joined as RFC 9110 combines them, or undefined when it was not sent. */
export function fieldValue(headers: Headers, name: string): string | undefined {
  return fieldLines(headers, name)?.join(', ');
}
