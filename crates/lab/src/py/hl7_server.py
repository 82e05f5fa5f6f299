"""An HL7 v2 MLLP server (python `hl7` package) for medguard's lab.

Acknowledges the message types an interface engine would file (ADT, ORM, ORU) with AA and rejects
every other type with AR, like a real engine; MSH-3/MSH-4 of its ACKs name the application and
facility given on the command line.
"""
import asyncio
import sys

import hl7
from hl7.mllp import start_hl7_server

HOST, PORT, APP, FACILITY = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ACCEPTED = {"ADT", "ORM", "ORU"}


async def handle(reader, writer):
    try:
        while not writer.is_closing():
            message = await reader.readmessage()
            kind = str(message.segment("MSH")[9]).split("^")[0]
            code = "AA" if kind in ACCEPTED else "AR"
            writer.writemessage(message.create_ack(ack_code=code, application=APP, facility=FACILITY))
            await writer.drain()
    except asyncio.IncompleteReadError:
        if not writer.is_closing():
            writer.close()
            await writer.wait_closed()


async def main():
    async with await start_hl7_server(handle, host=HOST, port=PORT) as server:
        print("ready", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
