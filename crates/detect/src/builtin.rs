//! The healthcare rules shipped in the binary (`data/rules/`).

macro_rules! rule {
    ($f:literal) => {
        ($f, include_str!(concat!("../../../data/rules/", $f)))
    };
}

/// (file name, YAML) of every built-in rule file.
pub const RULES: &[(&str, &str)] = &[
    rule!("ehr_mass_patient_access.yml"),
    rule!("ehr_after_hours.yml"),
    rule!("win_phi_share_mass_file_access.yml"),
    rule!("win_bruteforce_then_success.yml"),
    rule!("win_new_local_admin.yml"),
    rule!("win_audit_log_cleared.yml"),
    rule!("win_shadow_copy_backup_deletion.yml"),
    rule!("win_remote_access_tool_installed.yml"),
    rule!("win_defender_disabled.yml"),
];
