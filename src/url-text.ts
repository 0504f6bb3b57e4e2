/**
 * A config's `url` or `baseURL` as text. Axios's http adapter passes whatever it finds to
 * `new URL()`, so a WHATWG `URL` object (or anything else with a `toString`) is sent as
 * its string; the guard reads it the same way wherever it names or joins the target.
 */
export function urlText(value: unknown): string | undefined {
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- as axios's `new URL(value)` reads it
  return value == null ? undefined : String(value);
}
