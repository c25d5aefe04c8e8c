/**
 * The path of a request URL, without its query string. The per-request hooks (body dialects, the
 * serving protocols' answers, the queue dashboard's key check, the serving answer audit) each ask it of
 * every call; `url.split('?')[0]` allocated an array and a copy of the path each time, this returns the
 * URL itself when it has no query (the data plane's calls) and one slice otherwise.
 */
export function urlPath(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
