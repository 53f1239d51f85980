"""Grafana for ``campus-ingest demo``: started provisioned when installed, else pointers.

No Grafana package exists in Debian, PyPI or npm, so on most machines the demo only
says where the provisioning files are. When a ``grafana-server`` (or ``grafana``)
binary is on the PATH, it runs with the shipped data source file and a dashboard
provider pointing at ``dashboards/json``, configured through Grafana's documented
``GF_<SECTION>_<KEY>`` environment variables, with anonymous viewing on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

from dashboards.build import JSON_DIR
from demo.services import DEPLOY_DIR, free_port

PROVISIONING = DEPLOY_DIR / "grafana" / "provisioning"
_HOMEPATHS = (Path("/usr/share/grafana"), Path("/usr/local/share/grafana"))


def start_grafana(workdir: Path, influx_url: str) -> tuple[subprocess.Popen[bytes] | None, str]:
    """Start Grafana if installed; return the process and a line for the banner."""
    program = shutil.which("grafana-server") or shutil.which("grafana")
    if program is None:
        return None, (
            f"not installed here: provision a Grafana with {PROVISIONING}\n"
            f"             (dashboards in {JSON_DIR}), or push them to a running one:\n"
            f"             campus-ingest dashboards push --grafana-url URL --token TOKEN"
            f" --influx-url {influx_url}"
        )
    provisioning = workdir / "grafana" / "provisioning"
    (provisioning / "datasources").mkdir(parents=True, exist_ok=True)
    (provisioning / "dashboards").mkdir(parents=True, exist_ok=True)
    shutil.copy(PROVISIONING / "datasources" / "campuswatch.yaml", provisioning / "datasources")
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "campuswatch.yaml").read_text())
    providers["providers"][0]["options"]["path"] = str(JSON_DIR)
    (provisioning / "dashboards" / "campuswatch.yaml").write_text(
        yaml.safe_dump(providers, allow_unicode=True)
    )
    port = free_port()
    env = {
        **os.environ,
        "GF_PATHS_PROVISIONING": str(provisioning),
        "GF_PATHS_DATA": str(workdir / "grafana" / "data"),
        "GF_PATHS_LOGS": str(workdir / "grafana" / "logs"),
        "GF_SERVER_HTTP_ADDR": "127.0.0.1",
        "GF_SERVER_HTTP_PORT": str(port),
        "GF_AUTH_ANONYMOUS_ENABLED": "true",
        "GF_AUTH_ANONYMOUS_ORG_ROLE": "Viewer",
        "CAMPUSWATCH_INFLUX_URL": influx_url,
        "CAMPUSWATCH_INFLUX_USER": "",
        "CAMPUSWATCH_INFLUX_PASSWORD": "",
    }
    command = [program] if Path(program).name == "grafana-server" else [program, "server"]
    home = next((p for p in _HOMEPATHS if p.is_dir()), None)
    if home is not None:
        command += ["--homepath", str(home)]
    with (workdir / "grafana.log").open("ab") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    return proc, f"http://127.0.0.1:{port}/d/campus-night-patrol (log {workdir}/grafana.log)"
