"""Attachments in an S3-compatible bucket: moto's server on loopback plays S3 (it checks the
requests' signing and shapes like S3); the API stores and serves a customer's file there."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from encryption.codec import SEALED_FILE
from store.attachment_files import S3Store, SealedStore
from tests.attachment_files import PDF, png
from tests.conftest import running_stack
from tests.test_attachments import flow
from tests.test_handoff import publish, setup_omni
from transbordo.stack import stack_ring

KEYS = {"access_key": "test-key", "secret_key": "test-secret", "region": "us-east-1"}


@pytest.fixture
def s3_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=url,
        region_name=KEYS["region"],
        aws_access_key_id=KEYS["access_key"],
        aws_secret_access_key=KEYS["secret_key"],
    ).create_bucket(Bucket="anexos")
    try:
        yield url
    finally:
        server.stop()


def test_s3_store_round_trip(s3_url: str) -> None:
    store = S3Store("anexos", prefix="transbordo/", endpoint_url=s3_url, **KEYS)
    store.put("att_0123456789abcdef0123", PDF, "application/pdf")
    assert store.get("att_0123456789abcdef0123") == PDF
    assert store.get("att_ffffffffffffffffffff") is None
    listed = store.client.list_objects_v2(Bucket="anexos")["Contents"]
    assert [o["Key"] for o in listed] == ["transbordo/att_0123456789abcdef0123"]
    with pytest.raises(ValueError):
        store.put("../etc/passwd", PDF, "application/pdf")


@pytest.mark.asyncio
async def test_api_keeps_attachments_in_the_bucket(time_env, settings, engine, s3_url):
    settings = settings.model_copy(
        update={
            "attachment_s3_bucket": "anexos",
            "attachment_s3_endpoint": s3_url,
            "attachment_s3_region": KEYS["region"],
            "attachment_s3_access_key": KEYS["access_key"],
            "attachment_s3_secret_key": SecretStr(KEYS["secret_key"]),
        }
    )
    async with running_stack(time_env, settings, engine) as http:
        omni = await setup_omni(http)
        await publish(http, flow(omni.key))
        sent = await http.post(
            "/api/bots/loja/attachments?name=foto.png&contact_id=5511", content=png()
        )
        assert sent.status_code == 200, sent.text
        conversation = sent.json()["conversation_id"]
        rows = (await http.get("/api/agent/queue", headers=omni.agent("Ana"))).json()
        assert rows, rows
        messages = (
            await http.get(
                f"/api/agent/conversations/{conversation}/messages", headers=omni.agent("Ana")
            )
        ).json()
        ref = next(m["data"]["attachment"] for m in messages if (m["data"] or {}).get("attachment"))
        got = await http.get(f"/api/agent/attachments/{ref['id']}", headers=omni.agent("Ana"))
        assert got.status_code == 200 and got.content == png()
    assert not (settings.data_dir / "attachments").exists()
    bucket = S3Store("anexos", endpoint_url=s3_url, **KEYS)
    at_rest = bucket.get(ref["id"])
    assert at_rest is not None and at_rest.startswith(SEALED_FILE)  # encrypted with the ring
    assert png() not in at_rest and b"IHDR" not in at_rest
    assert SealedStore(bucket, stack_ring()).get(ref["id"]) == png()
