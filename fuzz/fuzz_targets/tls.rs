//! TLS server flights (records, ServerHello, Certificate), ClientHellos, and certificates.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::tls;

fuzz_target!(|data: &[u8]| {
    let _ = tls::flight_complete(data);
    if let Ok(f) = tls::parse_server_flight(data) {
        for der in &f.certificates {
            let mut obs = medguard_discover::Observation::new("tls");
            tls::describe_certificate(&mut obs, der);
        }
    }
    let _ = tls::parse_client_hello(data);
    let _ = tls::parse_server_hello(data);
});
