//! JSON bodies of the API, parsed with `serde_json::from_slice` as the server's `Body` and
//! `OptionalBody` extractors (and the client, for answers) do.
//!
//! The first input byte picks the type (modulo the number of types), the rest is the body:
//!
//! | byte | type                    | parsed by                                      |
//! |------|-------------------------|------------------------------------------------|
//! | 0    | `LoginRequest`          | server, `POST /auth/login`                     |
//! | 1    | `MfaRequest`            | server, `POST /auth/mfa`                       |
//! | 2    | `EnrollTotpRequest`     | server, `POST /me/factors/totp` (optional)     |
//! | 3    | `ActivateFactorRequest` | server, `POST /me/factors/{id}/activate`       |
//! | 4    | `DeleteFactorRequest`   | server, `DELETE /me/factors/{id}` (optional)   |
//! | 5    | `LoginResponse`         | client                                         |
//! | 6    | `Vec<Factor>`           | client                                         |
//! | 7    | `TotpEnrollment`        | client                                         |
//! | 8    | `Me`                    | client                                         |
//! | 9    | `Problem`               | client                                         |
//! | 10   | `NewOrgUser`            | server, `POST /orgs/{org}/users`               |
//! | 11   | `Vec<OrgUser>`          | client                                         |
//! | 12   | `EnrollInFlowRequest`   | server, `POST /auth/enroll/totp`               |
//! | 13   | `ActivateInFlowRequest` | server, `POST /auth/enroll/activate`           |
//! | 14   | `SetMfaPolicy`          | server, `PUT /orgs/{org}/mfa-policy`           |
//! | 15   | `Vec<AuditEvent>`       | client                                         |
//!
//! Properties, for every type:
//! * parsing never panics;
//! * a parsed value serialises, and parsing that JSON again gives a value that serialises to
//!   the same JSON (compared as `serde_json::Value`, so the types need no `PartialEq`).
//!
//! For the request types, which reject unknown fields, also: the body is valid JSON, and when
//! it is an object, re-serialising gives back exactly its members, with an absent optional
//! member and `null` counting as the same, and a number the same as an equal one (`22.0`
//! and `22`). So no member is silently dropped or altered.
//!
//! A broken property panics, which is how a fuzz target reports it (libFuzzer saves the input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use twofold_proto::{
    ActivateFactorRequest, ActivateInFlowRequest, AuditEvent, DeleteFactorRequest,
    EnrollInFlowRequest, EnrollTotpRequest, Factor, LoginRequest, LoginResponse, Me, MfaRequest,
    NewOrgUser, OrgUser, Problem, SetMfaPolicy, TotpEnrollment,
};

/// Request types: the server must read these strictly.
const STRICT: bool = true;
/// Answer types: the client reads them leniently (no `deny_unknown_fields`).
const LENIENT: bool = false;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    match selector % 16 {
        0 => check::<LoginRequest>(body, STRICT),
        1 => check::<MfaRequest>(body, STRICT),
        2 => check::<EnrollTotpRequest>(body, STRICT),
        3 => check::<ActivateFactorRequest>(body, STRICT),
        4 => check::<DeleteFactorRequest>(body, STRICT),
        5 => check::<LoginResponse>(body, LENIENT),
        6 => check::<Vec<Factor>>(body, LENIENT),
        7 => check::<TotpEnrollment>(body, LENIENT),
        8 => check::<Me>(body, LENIENT),
        9 => check::<Problem>(body, LENIENT),
        10 => check::<NewOrgUser>(body, STRICT),
        11 => check::<Vec<OrgUser>>(body, LENIENT),
        12 => check::<EnrollInFlowRequest>(body, STRICT),
        13 => check::<ActivateInFlowRequest>(body, STRICT),
        14 => check::<SetMfaPolicy>(body, STRICT),
        _ => check::<Vec<AuditEvent>>(body, LENIENT),
    }
});

fn check<T: Serialize + DeserializeOwned>(body: &[u8], strict: bool) {
    let Ok(value) = serde_json::from_slice::<T>(body) else {
        return;
    };
    let json = serde_json::to_value(&value).expect("a parsed value must serialise");
    let text = serde_json::to_vec(&value).expect("a parsed value must serialise");
    let again: T = match serde_json::from_slice(&text) {
        Ok(again) => again,
        Err(err) => panic!(
            "own output does not parse: {err}\noutput: {}",
            String::from_utf8_lossy(&text)
        ),
    };
    let json_again = serde_json::to_value(&again).expect("a parsed value must serialise");
    assert_eq!(json_again, json, "round trip changed the value");

    if strict {
        let input: Value = serde_json::from_slice(body).expect("accepted a body that is not JSON");
        if let Value::Object(members) = &input {
            let Value::Object(output) = &json else {
                panic!("an object body serialised as {json}");
            };
            for (name, given) in members {
                let kept = output
                    .get(name)
                    .unwrap_or_else(|| panic!("member {name:?} was accepted but dropped"));
                assert!(
                    same(kept, given),
                    "member {name:?} changed: {given} -> {kept}"
                );
            }
            for (name, written) in output {
                if !members.contains_key(name) {
                    assert_eq!(written, &Value::Null, "absent {name:?} became {written}");
                }
            }
        }
    }
}

/// Equal JSON, numbers compared by value (a whole number may come back without `.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}
