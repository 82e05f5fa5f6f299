"""A BACnet/IP device (bacpypes3) for medguard's lab: answers Who-Is and ReadProperty."""
import asyncio
import sys

from bacpypes3.argparse import SimpleArgumentParser
from bacpypes3.app import Application


async def main() -> None:
    parser = SimpleArgumentParser()
    parser.add_argument("--vendor-name", required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--firmware", required=True)
    args = parser.parse_args()
    app = Application.from_args(args)
    dev = app.device_object
    dev.vendorName = args.vendor_name
    dev.modelName = args.model_name
    dev.firmwareRevision = args.firmware
    print("ready", flush=True)
    await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
