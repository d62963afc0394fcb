// A class's link opens /?token=...: the server answered it with an HttpOnly cookie that
// every later request carries (this page never sees the token). Take the token out of
// the address bar, so a copied link, a bookmark or a screenshot does not give it away;
// the hash (the run's settings) stays.
const url = new URL(location.href);
if (url.searchParams.has("token")) {
  url.searchParams.delete("token");
  history.replaceState(history.state, "", `${url.pathname}${url.search}${url.hash}`);
}
