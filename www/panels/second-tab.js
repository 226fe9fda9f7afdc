// Opening this page in a second tab for the two-tab labs: the same store, scenario and storage
// (they are in the URL), scrolled to the lab.

/** Opens the page again in a new tab, at the section with this id. */
export function openSecondTab(sectionId) {
  const url = new URL(location.href);
  url.hash = sectionId;
  window.open(url.href, "_blank", "noopener");
}
