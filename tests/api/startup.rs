//! Start-up refuses bad settings with one clear line.

use api::config::{Config, DatabaseUrl};
use api::startup::Application;

use crate::helpers::TestDatabase;

on_both_backends! {
    async fn a_port_in_use_stops_start_up_naming_the_address(database: TestDatabase) {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut config = database.config();
        config.bind = taken.local_addr().expect("address");
        let err = Application::build(config).await.err().expect("start-up fails").to_string();
        assert!(err.starts_with(&format!("cannot listen on {}", taken.local_addr().expect("address"))), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

e2e_test! {
    async fn an_unreachable_database_stops_start_up_naming_it_without_its_password() {
        let url = DatabaseUrl::parse("postgres://cellreg:hunter2@127.0.0.1:1/cellreg").expect("URL");
        let err = Application::build(Config::new(url))
            .await
            .err()
            .expect("start-up fails")
            .to_string();
        assert!(
            err.starts_with(
                "cannot connect to the database at postgres://cellreg:***@127.0.0.1:1/cellreg"
            ),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        assert!(
            err.contains("Connection refused"),
            "names the concrete cause: {err}"
        );
    }
}
