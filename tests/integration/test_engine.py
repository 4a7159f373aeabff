from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.tables import programmes


async def test_a_fresh_database_has_every_table_and_no_rows(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(programmes))).scalar_one()
    assert count == 0
