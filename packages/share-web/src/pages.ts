import prettyBytes from "pretty-bytes";
import type { FileDigest } from "@ferry/protocol";
import type { ShareRecord } from "@ferry/server-core";
import { encodeSharePath } from "./url-path.js";

/** One row of a download page: a file with its facts, or a folder to browse and zip. */
export type PageRow =
  | { kind: "file"; label: string; name: string; size: number; digest: FileDigest | null }
  | { kind: "folder"; label: string; name: string; files: number; bytes: number };

/** Sizes in powers of 1024 ("4.77 MiB"), as the CLI prints them. */
function size(bytes: number): string {
  return prettyBytes(bytes, { binary: true });
}

/** Escapes text for HTML content and attribute values. */
export function html(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(title: string, body: string, extra = ""): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${html(title)}</title>
<link rel="stylesheet" href="/assets/style.css">
${extra}</head>
<body>
<main>
${body}
</main>
<footer><p>Shared with Ferry. Each file is checked against its SHA-256 when it is stored; compare it with <code>sha256sum</code>.</p></footer>
</body>
</html>
`;
}

function expiry(record: ShareRecord): string {
  const when = new Date(record.expiresAt);
  return `<time datetime="${when.toISOString()}">${html(when.toUTCString())}</time>`;
}

/** A download link's page (or one of its folders): rows with size, full SHA-256 and a download link; works without script. */
export function downloadPage(base: string, record: ShareRecord, rows: PageRow[], folder: string | null): string {
  const left = record.maxDownloads === null ? "" : ` · ${record.maxDownloads - record.downloads} of ${record.maxDownloads} downloads left`;
  const crumbs = folder === null ? "" : `<nav aria-label="Folder"><a href="${base}/">All shared files</a> / ${html(folder)}</nav>`;
  const zipAll =
    folder !== null ? `<p><a class="button" href="${base}/z/${encodeSharePath(folder)}/" download>Download this folder (.zip)</a></p>`
    : rows.length > 1 || rows.some((row) => row.kind === "folder") ? `<p><a class="button" href="${base}/z/" download>Download everything (.zip)</a></p>`
    : "";
  const body = rows.map((row) => {
    if (row.kind === "folder") {
      return `<tr><th scope="row"><a href="${base}/d/${encodeSharePath(row.name)}/">${html(row.label)}/</a></th><td>${row.files} file${row.files === 1 ? "" : "s"}, ${size(row.bytes)}</td><td>folder</td><td><a class="button" href="${base}/z/${encodeSharePath(row.name)}/" download aria-label="Download ${html(row.label)} as a zip">Download .zip</a></td></tr>`;
    }
    const sha = !row.digest ? `<span>not recorded</span>` : row.digest.algorithm === "sha256" ? `<code class="sha">${row.digest.hex}</code>` : `BLAKE3 <code class="sha">${row.digest.hex}</code>`;
    return `<tr><th scope="row">${html(row.label)}</th><td data-bytes="${row.size}">${size(row.size)}</td><td>${sha}</td><td><a class="button" href="${base}/f/${encodeSharePath(row.name)}" download aria-label="Download ${html(row.label)}">Download</a></td></tr>`;
  });
  return layout(
    "Shared files",
    `<h1>Shared files</h1>
<p class="meta">Link expires ${expiry(record)}${left}</p>
${crumbs}
${zipAll}
<table>
<caption class="visually-hidden">Files in this share</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Size</th><th scope="col">SHA-256</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>
${body.join("\n") || `<tr><td colspan="4">Nothing here.</td></tr>`}
</tbody>
</table>`,
  );
}

/** An upload link's page: a drop zone whose uploads resume after a closed tab (tus-js-client). */
export function uploadPage(base: string, record: ShareRecord, chunkSize: number, maxFileSize: number): string {
  const limits = [
    record.maxFiles === null ? null : `${record.maxFiles - record.uploadedFiles} more files`,
    record.maxBytes === null ? null : `${size(Math.max(0, record.maxBytes - record.uploadedBytes))} more`,
  ].filter(Boolean);
  return layout(
    "Send files",
    `<h1>Send files</h1>
<p class="meta">Link expires ${expiry(record)}${limits.length ? ` · takes ${limits.join(", ")}` : ""}</p>
<div id="drop" class="drop" data-endpoint="${base}/tus" data-chunk="${chunkSize}" data-max="${maxFileSize}">
<label for="files">Drop files here, or choose them</label>
<input id="files" type="file" multiple>
<p>An interrupted upload continues where it stopped: open this page again and drop the same file.</p>
</div>
<ul id="uploads" aria-live="polite"></ul>
<noscript><p>Uploading needs JavaScript (it sends files in resumable pieces). Downloads work without it.</p></noscript>`,
    `<script src="/assets/tus.min.js" defer></script>\n<script src="/assets/upload.js" defer></script>\n`,
  );
}

/** The form a password-protected link shows first. */
export function passwordPage(base: string, failed: boolean): string {
  return layout(
    "Password needed",
    `<h1>This share needs a password</h1>
${failed ? `<p role="alert" class="error">That password is not right.</p>` : ""}
<form method="post" action="${base}/unlock">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Open</button>
</form>`,
  );
}

/** 404 and 410 say the same for every link they cover: nothing about what it held. */
export function endedPage(status: 404 | 410): string {
  const text = status === 404 ? "There is no share at this address. It may have been withdrawn." : "This share has expired or has been used up.";
  return layout(status === 404 ? "Not found" : "Gone", `<h1>${status === 404 ? "Not found" : "No longer available"}</h1>\n<p>${text}</p>`);
}
