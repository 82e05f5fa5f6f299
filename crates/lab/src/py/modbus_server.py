"""A Modbus/TCP server (pymodbus) with a device identity, for medguard's lab.

Answers function 43 / MEI 14 (Read Device Identification) with the identity given as JSON on the
command line; holds a few registers so it behaves like a small monitor.
"""
import asyncio
import json
import sys

from pymodbus import ModbusDeviceIdentification
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import StartAsyncTcpServer

HOST, PORT, IDENTITY = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])


async def main():
    block = ModbusSequentialDataBlock(1, [0] * 16)
    device = ModbusDeviceContext(di=block, co=block, hr=block, ir=block)
    context = ModbusServerContext(devices=device, single=True)
    identity = ModbusDeviceIdentification(info_name=IDENTITY)
    await StartAsyncTcpServer(context=context, identity=identity, address=(HOST, PORT))


if __name__ == "__main__":
    asyncio.run(main())
