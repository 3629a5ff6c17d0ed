"""What a benchmark's JSON line says of the machine it ran on: cores, versions, and the load before and after."""

import os
import platform
import subprocess
from typing import Any


def load() -> dict[str, Any]:
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    return {"loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()], "uptime": uptime}


def machine(spark_version: str | None) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "spark": spark_version,
        "platform": platform.platform(),
    }
