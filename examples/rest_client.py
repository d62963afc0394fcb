"""Drive gradscape's REST API from Python with httpx: compare two optimizers on one surface.

    make serve            # in one terminal
    .venv/bin/python examples/rest_client.py [http://127.0.0.1:8000]

A server started with GRADSCAPE_TOKEN needs it: set GRADSCAPE_TOKEN here too.
"""

from __future__ import annotations

import os
import sys

import httpx


def main(base: str = "http://127.0.0.1:8000") -> None:
    token = os.environ.get("GRADSCAPE_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=base, timeout=60, headers=headers) as api:
        # The chapter's neuron: 2000 full-batch steps of plain gradient descent.
        chapter = api.post("/api/sessions", json={"preset": "pass-fail"}).json()
        run = api.post(f"/api/sessions/{chapter['id']}/step", json={"steps": 2000}).json()
        for k in (0, 499, 999, 1499):
            print(f"step {run['records']['step'][k]:4d}  loss {run['records']['loss'][k]:.4f}")

        # Rosenbrock from the same start: SGD with momentum against Adam.
        ids = {}
        for name, optimizer in {
            "momentum": {"name": "sgd", "lr": 0.001, "momentum": 0.9},
            "adam": {"name": "adam", "lr": 0.05},
        }.items():
            s = api.post("/api/sessions", json={"preset": "rosenbrock", "optimizer": optimizer}).json()
            api.post(f"/api/sessions/{s['id']}/step", json={"steps": 500, "fields": ["step"]})
            ids[name] = s["id"]
            info = api.get(f"/api/sessions/{s['id']}").json()
            print(f"{name:>8}: loss {info['loss']:.3g} at {info['params']}")

        # One shared plane for both paths (exact: the surface has two parameters).
        surf = api.post(
            f"/api/sessions/{ids['momentum']}/surface",
            json={"mode": "axes", "resolution": 41, "overlay": [ids["adam"]]},
        ).json()
        print(f"surface {len(surf['x'])}x{len(surf['y'])}, labels {surf['labels']}")
        print(f"overlay paths: {[len(o['path']['a']) for o in surf['overlays']]} points")

        # Live change, then the curvature that explains a too-large learning rate.
        line = api.post("/api/sessions", json={"preset": "line"}).json()["id"]
        api.patch(f"/api/sessions/{line}", json={"lr": 0.5})
        curv = api.get(f"/api/sessions/{line}/curvature").json()
        print(f"lambda_max {curv['lambda_max']:.3f}: lr x lambda = {curv['lr_times_lambda']:.2f} (stable below 2)")


if __name__ == "__main__":
    main(*sys.argv[1:])
