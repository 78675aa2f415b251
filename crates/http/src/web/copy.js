// Twofold's one script: "Copy" and "Download as a text file" beside what a page marks
// (the recovery codes). The download is made in the browser, so the codes never appear in
// a URL. The pages work without it: both stay hidden where scripts are not available, and
// the codes can still be selected or printed.
"use strict";
const text = (id) => {
  const source = document.getElementById(id);
  return source ? source.dataset.text || source.innerText : null;
};
for (const button of document.querySelectorAll("button[data-copy]")) {
  if (text(button.dataset.copy) === null || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text(button.dataset.copy));
      button.textContent = "Copied";
    } catch (_) {
      button.textContent = "Could not copy: select the codes instead";
    }
  });
}
for (const link of document.querySelectorAll("a[data-download]")) {
  const content = text(link.dataset.download);
  if (content === null) continue;
  link.href = URL.createObjectURL(new Blob([content], { type: "text/plain" }));
  link.hidden = false;
}
