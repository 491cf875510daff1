"""Faulty on purpose: posts its JSON the way ``curl -d`` does, as a form (caught by VM011).

vidmock serves it anyway, as a lenient server may; Runware's authentication page says the header
must be ``Content-Type: application/json``.
"""

import asyncio
import json
import sys

from reference_client import Client, main


class FormPoster(Client):
    async def post(self, tasks: list) -> tuple[int, dict]:
        headers = {**self.headers(), "Content-Type": "application/x-www-form-urlencoded"}
        async with self.session.post(self.url, data=json.dumps(tasks), headers=headers) as response:
            return response.status, await response.json()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(FormPoster)))
