"""Every limit the library and the public app enforce, in one place (docs/operating.md "Limits" lists them).

Image limits are checked from the file's header, before any pixel is decoded, so a
refused request costs almost nothing; the app's limits bound what one visitor can make
the server store or compute.
"""

# Per image, checked before decoding. Phones save 12 MP (4032x3024) or 24 MP (5712x4284) by default; their
# 48-200 MP modes are opt-in. A worker's time grows with the pixels it decodes (benchmarks/hostile_load.py).
MAX_PIXELS = 25_000_000
MAX_LAYERS = 4  # Sketchpad layers in one value (the app's own canvas sends one)
MAX_REQUEST_PIXELS = 25_000_000  # all images one Sketchpad value makes us decode, together
MAX_NUMBER_DIGITS = 16  # digits in one number drawing; a wider drawing is refused before the model sees it
MAX_FILE_BYTES = 10 * 1024 * 1024  # per uploaded file (HTTP 413 above it)
MAX_UPLOAD_FILES = 4  # files in one upload request (HTTP 413 above it)
CACHE_MAX_AGE_S = 10 * 60  # uploads and results are deleted this long after they were written
CACHE_SWEEP_S = 60  # how often expired files are looked for
CACHE_MAX_BYTES = 512 * 1024 * 1024  # uploads and results kept at once; the oldest go first above it
CACHE_MAX_FILES = 10_000  # ... and how many files: a sweep reads them all, so their number bounds its time
WORKERS = 8  # requests recognized at the same time (single digits and uploads)
HEAVY_WORKERS = 1  # of which number drawings and explanations: at most one at a time
WORKERS_PER_ADDRESS = 2  # of which one address's (its pages draw one at a time); the queue serves addresses in turn
QUEUE_SIZE = 256  # requests waiting; the next one is refused with "queue is full"
# Requests one page (session) may start a second on average, and at once (a stroke starts one) ...
EVENTS_PER_SESSION, EVENT_BURST_PER_SESSION = 20, 40
# ... and one address, all its pages together: no address fills the queue (HTTP 429 past either)
EVENTS_PER_ADDRESS, EVENT_BURST_PER_ADDRESS = 60, 120
FEEDBACK_PER_MINUTE = 10  # corrections one address, and one session, may send in a minute
FEEDBACK_MAX_BYTES = 256 * 1024 * 1024  # the local corrections folder; above it pushed hours go, then new ones wait
FEEDBACK_IMAGE_SIDE = 1024  # px: a kept drawing's longer side at most (a 39 MP photo would be a 69 MB PNG)
# Request bodies, checked by digitrec.bounds before Gradio reads them (HTTP 413, 400, 408 or 503):
UPLOAD_BODY_BYTES = MAX_UPLOAD_FILES * MAX_FILE_BYTES + 64 * 1024  # an upload or Sketchpad image request
JSON_BODY_BYTES = 64 * 1024  # any other POST (/queue/join, /call/, /run/): it names files, it carries no image
MCP_BODY_BYTES = MAX_FILE_BYTES * 4 // 3 + 64 * 1024  # an MCP message: one image file as a base64 data URL
MAX_VALUE_CHARS = 4096  # one string in a call's JSON (the longest path Linux accepts)
MAX_JSON_DEPTH = 32  # nesting of a call's JSON; a Sketchpad value is 4 deep
BODY_IDLE_S = 15.0  # a request body that sends nothing for this long is cut off
IN_FLIGHT_BYTES = 64 * 1024 * 1024  # request bytes received and held at once, all clients together
IN_FLIGHT_BYTES_PER_ADDRESS = UPLOAD_BODY_BYTES  # ... and of one address: its largest upload, one at a time
BLOB_STORE_BYTES = 64 * 1024 * 1024  # Sketchpad images waiting for their event, all visitors together
BLOB_STORE_ENTRIES = 512  # ... and how many drawings they may belong to
PWA_ICON_SIZES = (192, 512)  # px: the installable app's icons; Gradio's /pwa_icon/N would resize to any N
SESSIONS_KEPT = 2_000  # sessions whose last values Gradio keeps in memory (Gradio's default: 10,000)
