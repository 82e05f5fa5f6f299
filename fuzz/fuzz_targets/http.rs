//! HTTP response parsing (also the RTSP message head): head, chunked body, title, login form.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::http;

fuzz_target!(|data: &[u8]| {
    let _ = http::message_complete(data, "HTTP");
    if let Ok(r) = http::parse_response(data, "HTTP") {
        let _ = http::title(&r.body);
        let _ = http::has_password_input(&r.body);
        let _ = http::meta_refresh(&r.body);
        let mut obs = medguard_discover::Observation::new("http");
        let _ = http::describe(&mut obs, &r);
    }
    let _ = http::dechunk(data);
});
