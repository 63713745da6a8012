"""Every limit the library and the public app enforce, in one place (README "Limits" lists them).

Image limits are checked from the file's header, before any pixel is decoded, so a
refused request costs almost nothing; the app's limits bound what one visitor can make
the server store or compute.
"""

MAX_PIXELS = 40_000_000  # per image (a 6000x6000 photo is 36 MP); checked before decoding
MAX_LAYERS = 4  # Sketchpad layers in one value (the app's own canvas sends one)
MAX_REQUEST_PIXELS = 40_000_000  # all images one Sketchpad value makes us decode, together
MAX_NUMBER_DIGITS = 16  # digits in one number drawing; a wider drawing is refused before the model sees it
MAX_FILE_BYTES = 10 * 1024 * 1024  # per uploaded file (HTTP 413 above it)
MAX_UPLOAD_FILES = 4  # files in one upload request (HTTP 413 above it)
CACHE_MAX_AGE_S = 10 * 60  # uploads and results are deleted this long after they were written
CACHE_SWEEP_S = 60  # how often expired files are looked for
CACHE_MAX_BYTES = 512 * 1024 * 1024  # uploads and results kept at once; the oldest go first above it
WORKERS = 8  # requests recognized at the same time (single digits and uploads)
HEAVY_WORKERS = 1  # of which number drawings and explanations: at most one at a time
QUEUE_SIZE = 256  # requests waiting; the next one is refused with "queue is full"
FEEDBACK_PER_MINUTE = 10  # corrections one session may send in a minute
FEEDBACK_MAX_BYTES = 256 * 1024 * 1024  # the local corrections folder; above it, the oldest pushed hours go first
