"""What only the asyncio client does differently: reads need an explicit load."""

from __future__ import annotations

import pytest

from sessiond import aio


async def test_reads_need_a_load_and_getters_then_see_the_entries(address: str) -> None:
    async with aio.Client(address) as client:
        created = await client.create({"user": "ada"})
        session = client.session(created.id)
        with pytest.raises(aio.NotLoadedError):
            session.get_string("user")
        await session.load()
        assert session.get_string("user") == "ada"
        assert client.new_session().keys() == []
