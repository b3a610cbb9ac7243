"""An agent's session with kmviz's MCP server, through PyPI's `mcp` client (streamable HTTP).

Usage: python mcp_client.py URL TOKEN DATABASE FASTA_FILE

Lists the tools and the databases, submits the queries to DATABASE, waits for the session,
reads its top hits and the coverage of the first one, and makes one call that must fail;
prints everything it was answered as one JSON object (the Rust test checks it against the
server's own API).
"""

import asyncio
import json
import sys

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def main(url, token, database, fasta):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx2.Timeout(30, read=300)
    seen = {}
    async with httpx2.AsyncClient(headers=headers, timeout=timeout) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                started = await session.initialize()
                seen["server"] = started.server_info.name
                seen["tools"] = sorted(t.name for t in (await session.list_tools()).tools)

                async def call(name, arguments):
                    answer = await session.call_tool(name, arguments)
                    if answer.is_error:
                        return {"error": answer.content[0].text}
                    return answer.structured_content

                seen["databases"] = await call("list_databases", {})
                submitted = await call(
                    "submit_queries", {"fastx": fasta, "databases": [database]}
                )
                seen["submitted"] = submitted
                id = submitted["session"]
                seen["waited"] = await call(
                    "wait_for_session", {"session": id, "timeout_seconds": 120}
                )
                seen["results"] = await call("read_results", {"session": id, "top": 3})
                first = seen["results"]["pairs"][0]
                best = first["top"][0]
                seen["coverage"] = await call(
                    "hit_coverage",
                    {
                        "session": id,
                        "query": first["query"],
                        "database": first["database"],
                        "index": best["index"],
                        "id": best["ID"],
                    },
                )
                seen["refused"] = await call(
                    "submit_queries", {"fastx": fasta, "databases": ["nope"]}
                )
    print(json.dumps(seen))


if __name__ == "__main__":
    url, token, database, path = sys.argv[1:5]
    with open(path) as fasta:
        asyncio.run(main(url, token, database, fasta.read()))
