"""The local runner's pieces: template intrinsics, API Gateway route precedence, proxy events, schedules."""

from __future__ import annotations

import base64
import textwrap

from local.cfn import Template
from local.emulation import function_environment, physical_names
from local.routing import Route, Router, _compile, proxy_event
from local.schedule import scheduled_functions


def router(*routes: tuple[str, str, str]) -> Router:
    compiled = []
    for function, method, resource in routes:
        pattern, rank = _compile(resource)
        compiled.append(Route(function, method, resource, pattern, rank))
    return Router(compiled)


def test_literals_beat_parameters_beat_greedy_paths_and_methods_beat_any():
    r = router(
        ("Get", "GET", "/s/{id}"),
        ("Create", "POST", "/s/create"),
        ("CreateOther", "ANY", "/s/create"),
        ("Fallback", "ANY", "/{proxy+}"),
        ("Start", "POST", "/s/{id}/start"),
    )
    assert r.match("POST", "/s/create").route.function == "Create"
    assert r.match("GET", "/s/create").route.function == "CreateOther"
    assert r.match("GET", "/s/abc").path_parameters == {"id": "abc"}
    assert r.match("DELETE", "/s/abc").route.function == "Fallback"  # no method, no ANY there: falls through
    assert r.match("POST", "/s/abc/start").route.function == "Start"
    assert r.match("GET", "/x/y/z").path_parameters == {"proxy": "x/y/z"}


def test_binary_media_types_arrive_base64_encoded():
    match = router(("F", "POST", "/f")).match("POST", "/f")
    binary = proxy_event(match, "POST", "/f", "a=1&a=2", [("Content-Type", "multipart/form-data; boundary=x")], b"\xff\x00", ["multipart/form-data"])
    assert binary["isBase64Encoded"] and base64.b64decode(binary["body"]) == b"\xff\x00"
    assert binary["multiValueQueryStringParameters"] == {"a": ["1", "2"]} and binary["queryStringParameters"] == {"a": "2"}
    text = proxy_event(match, "POST", "/f", "", [("Content-Type", "application/json")], b"{}", ["multipart/form-data"])
    assert text["isBase64Encoded"] is False and text["body"] == "{}"


def test_intrinsics_and_environment_from_the_real_template():
    template = Template.load(Stage="local")
    env = function_environment(template, "ReminderDispatchFunction", "http://127.0.0.1:5055", "http://127.0.0.1:3000")
    names = physical_names(template, "http://127.0.0.1:5055")
    assert env["TABLE_NAME"] == names["MainTable"] and env["REMINDER_QUEUE_URL"].endswith("ReminderQueue.fifo")
    assert env["REMINDER_LEAD_MINUTES"] == "15" and env["POWERTOOLS_SERVICE_NAME"] == "live-stream"
    assert env["THUMBNAIL_BASE_URL"] == "http://127.0.0.1:3000/_local/thumbnails"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5055"


def test_conditions_subs_and_schedules(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(
        textwrap.dedent(
            """
            Parameters:
              Base: {Type: String, Default: ""}
            Conditions:
              HasBase: !Not [!Equals [!Ref Base, ""]]
            Resources:
              Tick:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: functions/x/
                  Handler: app.handler
                  Environment:
                    Variables:
                      URL: !If [HasBase, !Ref Base, !Sub "https://${Bucket}.s3.${AWS::Region}.amazonaws.com"]
                  Events:
                    Every: {Type: Schedule, Properties: {Schedule: rate(1 minute)}}
              Bucket: {Type: AWS::S3::Bucket}
            """
        )
    )
    template = Template.load(path)
    names = physical_names(template, "http://e")
    assert template.functions()["Tick"].environment(names)["URL"] == f"https://{names['Bucket']}.s3.us-east-1.amazonaws.com"
    assert Template.load(path, Base="https://cdn").functions()["Tick"].environment(names)["URL"] == "https://cdn"
    assert scheduled_functions(template) == ["Tick"]


def test_the_schedule_fires_each_scheduled_function_with_a_scheduled_event():
    import threading

    from local.schedule import Ticker

    fired = []
    done = threading.Event()

    def fire(name, event):
        fired.append((name, event["detail-type"], event["source"]))
        done.set()

    ticker = Ticker(Template.load(), 0.05, fire)
    ticker.start()
    assert done.wait(5)
    ticker.stop()
    assert fired[0] == ("ReminderDispatchFunction", "Scheduled Event", "aws.events")
    assert Ticker(Template.load(), 0, fire)._thread.is_alive() is False  # 0 turns it off
