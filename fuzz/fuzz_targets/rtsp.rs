//! RTSP replies, requests (the simulator's side) and SDP bodies.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::{http, rtsp};

fuzz_target!(|data: &[u8]| {
    let _ = http::message_complete(data, "RTSP");
    if let Ok(r) = http::parse_response(data, "RTSP") {
        let _ = rtsp::parse_sdp(&r.body);
    }
    let _ = rtsp::parse_request(data);
    let _ = rtsp::parse_sdp(data);
});
