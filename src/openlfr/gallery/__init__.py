"""Galleries: collections of enrolled images (custody records) searched for investigative candidates.

A gallery is a folder of its own, not a part of the store::

    PATH/gallery.json     plain: format, gallery id, embedder identity, key id (no personal data)
    PATH/records.sqlite   encrypted records, templates and thumbnails; the import journal; the audit log
    PATH/index.faiss      the FAISS index, serialised and encrypted as one blob

Why a folder and not the store: a gallery of millions is written by a long, interruptible bulk import,
whose journal (one row per image content hash, committed with the batch's records) makes it resumable
in the same SQLite transaction as the records, without holding the store's single writer for hours or
mixing a bulk workload into the deployments' database; it can be copied, backed up or destroyed as a
unit. It keeps the store's protections: the key comes from the store's key settings (``store.key``,
``store.key_file``, dev mode), every blob is AES-256-GCM bound to its gallery, row and field as
associated data (a blob copied into another row or gallery does not decrypt), lookups go through keyed
hashes (HMAC with a key derived from the store's) so neither record ids nor image hashes are in clear,
SQLite runs with ``secure_delete`` so a removed record's bytes are overwritten, and actions are written
to a hash-chained audit log inside the gallery (``audit`` table: each entry hashes the previous one;
``lfr gallery info`` verifies it), since the store's chain belongs to the store's database.

Modules: ``records`` (the encrypted SQLite: records, journal, audit), ``index`` (FAISS: exact below a
size limit, IVF above it, with parameters chosen by measured recall), ``gallery`` (``Gallery``: open,
sync the index with the records, remove, expire), ``importer`` (parallel, resumable import),
``search`` (investigative search: candidates for review), ``sheet`` (the HTML review sheet).
"""
