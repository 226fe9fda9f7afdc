// Opening the sandbox in a second tab for the two-tab labs: the same store, scenario and storage
// (put in the URL from the session, whatever the address bar says), scrolled to the lab. From an
// embed, the second tab is the full page next to the embed's modules.

/** Opens the session's store in a new tab of the page, at the section with this id. */
export function openSecondTab(session, sectionId) {
  const url = session.namespace === "page" ? new URL(location.href) : new URL("../index.html", import.meta.url);
  url.search = new URLSearchParams({ scenario: session.scenario, storage: session.store.storage, name: session.store.name }).toString();
  url.hash = sectionId;
  window.open(url.href, "_blank", "noopener");
}
