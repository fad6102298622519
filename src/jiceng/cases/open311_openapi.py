"""An OpenAPI 3 description of the Open311 GeoReport v2 endpoints (their JSON form), served
at /open311/v2/openapi.json for client developers, and read by the fuzzing tests."""

STRING = {"type": "string"}
ERRORS = {
    "description": "GeoReport errors: a list of {code, description}",
    "content": {
        "application/json": {
            "schema": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["code", "description"],
                    "properties": {"code": {"type": "integer"}, "description": STRING},
                },
            }
        }
    },
}


def _list_of(properties: dict, required: list[str]) -> dict:
    return {
        "type": "array",
        "items": {"type": "object", "required": required, "properties": properties},
    }


def _ok(schema: dict, status: str = "200") -> dict:
    return {
        status: {"description": "OK", "content": {"application/json": {"schema": schema}}},
        "4XX": ERRORS,
    }


def _query(name: str, description: str, required: bool = False) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": STRING,
    }


JURISDICTION = _query("jurisdiction_id", "县级区划代码，如 370829（只有一个县时可省略）")
SERVICE = {
    "service_code": STRING,
    "service_name": STRING,
    "description": STRING,
    "metadata": {"type": "boolean"},
    "type": STRING,
    "keywords": STRING,
    "group": STRING,
}
REQUEST = {
    name: STRING
    for name in (
        "service_request_id", "status", "status_notes", "service_name", "service_code",
        "description", "agency_responsible", "service_notice", "requested_datetime",
        "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
        "long", "media_url",
    )
}  # fmt: skip
REQUEST["status"] = {"type": "string", "enum": ["open", "closed"]}
CREATED = {"service_request_id": STRING, "token": STRING, "service_notice": STRING,
           "account_id": STRING}  # fmt: skip
POST_FIELDS = {
    "api_key": STRING,
    "jurisdiction_id": STRING,
    "service_code": STRING,
    "lat": STRING,
    "long": STRING,
    "address_string": STRING,
    "address_id": {"type": "string", "description": "网格代码（二维码下方印的15位代码）"},
    "description": {"type": "string", "maxLength": 4000},
    "device_id": STRING,
    "account_id": STRING,
    "first_name": STRING,
    "last_name": STRING,
    "phone": STRING,
    "email": STRING,
    "media_url": STRING,
}


def open311_openapi() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "基层治理 Open311 GeoReport v2",
            "version": "2",
            "description": "民情诉求的 Open311 接口（此处描述 JSON 格式；"
            "把 .json 换成 .xml 即得 XML）。提交需要县级管理员发放的 api_key；"
            "不带 api_key 查询只返回公开信息。",
        },
        "paths": {
            "/open311/v2/discovery.json": {
                "get": {"summary": "服务发现", "responses": _ok({"type": "object"})}
            },
            "/open311/v2/services.json": {
                "get": {
                    "summary": "诉求类别",
                    "parameters": [JURISDICTION],
                    "responses": _ok(_list_of(SERVICE, ["service_code", "service_name"])),
                }
            },
            "/open311/v2/services/{service_code}.json": {
                "get": {
                    "summary": "类别的附加问题",
                    "parameters": [
                        {"name": "service_code", "in": "path", "required": True, "schema": STRING},
                        JURISDICTION,
                    ],
                    "responses": _ok(
                        {
                            "type": "object",
                            "required": ["service_code", "attributes"],
                            "properties": {
                                "service_code": STRING,
                                "attributes": {"type": "array", "items": {"type": "object"}},
                            },
                        }
                    ),
                }
            },
            "/open311/v2/requests.json": {
                "get": {
                    "summary": "查询诉求",
                    "parameters": [
                        JURISDICTION,
                        _query("api_key", "提交该诉求的应用可看到完整信息"),
                        _query("service_request_id", "逗号分隔的多个编号"),
                        _query("service_code", "逗号分隔的多个类别"),
                        _query("start_date", "ISO 8601"),
                        _query("end_date", "ISO 8601，与 start_date 相距不超过 90 天"),
                        _query("status", "open 或 closed，可逗号分隔"),
                    ],
                    "responses": _ok(_list_of(REQUEST, ["service_request_id", "status"])),
                },
                "post": {
                    "summary": "提交诉求",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "required": ["api_key", "service_code"],
                                    "properties": POST_FIELDS,
                                }
                            }
                        },
                    },
                    "responses": {
                        **_ok(_list_of(CREATED, ["service_request_id"]), "201"),
                        "200": {
                            "description": "同一提交的重试：返回原来的编号",
                            "content": {
                                "application/json": {
                                    "schema": _list_of(CREATED, ["service_request_id"])
                                }
                            },
                        },
                    },
                },
            },
            "/open311/v2/requests/{service_request_id}.json": {
                "get": {
                    "summary": "一件诉求",
                    "parameters": [
                        {
                            "name": "service_request_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"},
                        },
                        JURISDICTION,
                        _query("api_key", "提交该诉求的应用可看到完整信息"),
                    ],
                    "responses": _ok(_list_of(REQUEST, ["service_request_id", "status"])),
                }
            },
            "/open311/v2/tokens/{token}.json": {
                "get": {
                    "summary": "由提交时的 token 查编号",
                    "parameters": [
                        {
                            "name": "token",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"},
                        }
                    ],
                    "responses": _ok(_list_of(CREATED, ["service_request_id", "token"])),
                }
            },
        },
    }
