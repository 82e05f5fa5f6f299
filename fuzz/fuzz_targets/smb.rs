//! SMB replies: direct-TCP frames, SMB1/SMB2 NEGOTIATE responses, SESSION_SETUP security buffers
//! and NTLMSSP CHALLENGE messages.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::smb;

fuzz_target!(|data: &[u8]| {
    let _ = smb::frame_complete(data);
    let msg = smb::unframe(data).unwrap_or(data);
    if let Ok(n) = smb::parse_smb1_negotiate(msg) {
        let _ = smb::filetime_iso(n.system_time);
    }
    let _ = smb::smb1_request_dialects(msg);
    if let Ok(n) = smb::parse_smb2_negotiate(msg) {
        let _ = smb::filetime_iso(n.system_time);
        let _ = smb::guid_string(&n.server_guid);
    }
    let _ = smb::smb2_request_dialects(msg);
    if let Ok(blob) = smb::smb2_security_buffer(msg) {
        let _ = smb::parse_ntlm_challenge(blob);
    }
    let _ = smb::parse_ntlm_challenge(data);
});
