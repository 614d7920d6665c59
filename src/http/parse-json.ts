import { HttpError } from './http-error.js';

/** JSON.parse for a request body: anything unparsable is a 400 that says why, naming `subject`. */
export function parseJsonBody(body: string, subject = 'Request body'): unknown {
  try {
    return JSON.parse(body);
  } catch (error) {
    const reason = body.trim() === '' ? 'the body is empty' : (error as Error).message;
    throw new HttpError(400, `${subject} is not valid JSON: ${reason}`);
  }
}
