// OpenAI-style error bodies: {error: {message, type, code}}.

/** The JSON body of an API error. */
export function errorBody(message: string, type: string, code: string | null = null) {
  return { error: { message, type, code } };
}
