import time
from tests.support import *
from tests.integration.test_validation import _multipart, _png_of_size

async def test_probe(api, settings, db):
    user = new_user(settings)
    for size in (1000, 2_000_000, settings.max_image_bytes + 1):
        t = time.time()
        try:
            body = await _multipart(api, user, [_png_of_size(size)])
            print(size, time.time() - t, str(body)[:300])
        except Exception as e:
            print(size, "EXC", repr(e), time.time() - t)
    assert False
