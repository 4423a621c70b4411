//! Live tests: the integration suite's end-to-end cases against a real SQL Server, each
//! statement sent in its real, parameterised form (the embedded engine receives most of them
//! rewritten as literals). They need a disposable server:
//!
//! ```sh
//! POSTCLONE_SQLSERVER_TEST='server=tcp:127.0.0.1,1433;user=sa;password=...;TrustServerCertificate=true' \
//!   cargo test --all-features --test integration live_sqlserver -- --ignored --test-threads=1
//! ```
//!
//! Every database a fixture script `USE`s (`OS_PREPROD`) is dropped and created again there.
//! `.github/workflows/live.yml` runs them against SQL Server 2022 in a service container. No
//! SQL Server is reachable where the suite is developed: these have never run against one,
//! and what they find there is the point of them.

use crate::common::server::on_live_server;

/// The live server's connection string.
fn sqlserver() -> String {
    std::env::var("POSTCLONE_SQLSERVER_TEST").expect(
        "set POSTCLONE_SQLSERVER_TEST to the ADO.NET connection string of a disposable SQL Server",
    )
}

/// `#[test] #[ignore] fn NAME()` running the integration test `path` on the live server.
macro_rules! live_sqlserver {
    ($($name:ident => $test:path;)*) => {$(
        #[test]
        #[ignore = "needs a disposable SQL Server in POSTCLONE_SQLSERVER_TEST"]
        fn $name() {
            on_live_server(&sqlserver(), $test);
        }
    )*};
}

live_sqlserver! {
    live_sqlserver_runbook_profile => crate::profile::profile_leaves_what_the_runbook_leaves;
    live_sqlserver_runbook_sections => crate::profile::each_step_does_what_its_runbook_section_does;
    live_sqlserver_host_rewrites => crate::profile::application_configuration_rewrites_hosts_once;
    live_sqlserver_core_spec => crate::apply::core_spec_converges;
    live_sqlserver_foreign_keys => crate::apply::foreign_keys_converge_in_either_order;
    live_sqlserver_rollback => crate::apply::failure_rolls_back_and_names_the_change;
    live_sqlserver_demo => crate::apply::demo_converges_on_the_embedded_engine;
    live_sqlserver_quarantine => crate::quarantine::quarantine_leaves_nothing_due_and_running_work_untouched_issue_12;
    live_sqlserver_quarantine_lifted => crate::quarantine::lifting_the_quarantine_gives_back_only_what_it_replaced;
    live_sqlserver_references_found => crate::references::every_value_that_names_production_is_found_and_nothing_else_issue_13;
    live_sqlserver_references_rewritten => crate::references::declared_rewrites_remove_every_hit_and_apply_converges;
    live_sqlserver_masking => crate::personal::personal_data_masked_through_the_metamodel_issue_14;
    live_sqlserver_masking_by_page => crate::personal::an_entity_larger_than_a_page_is_masked_page_by_page;
    live_sqlserver_copies_found => crate::copies::copies_of_masked_values_are_found_issue_24;
    live_sqlserver_copies_covered => crate::copies::covered_copies_converge_issue_24;
    live_sqlserver_carry => crate::carry::a_refresh_keeps_the_environment_configuration_issue_23;
    live_sqlserver_plan_shows_what_apply_sends => crate::carry::plan_verbose_shows_what_apply_sends_issue_35;
    live_sqlserver_restore => crate::journal::restore_puts_every_row_back;
    live_sqlserver_restore_by_pages => crate::journal::restore_over_many_pages_issue_26;
    live_sqlserver_restore_without_key => crate::journal::rows_without_a_key_go_back_exactly_issue_35;
    live_sqlserver_generated => crate::generated::generated_shapes_converge_restore_and_keep_secrets_issue_21;
    live_sqlserver_generated_carry => crate::generated::generated_shapes_carry_across_a_clone_issue_23;
}
