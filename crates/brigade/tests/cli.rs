//! The `brigade` binary as a user runs it: real commands on a scratch data directory, and broken input
//! answered with a readable message and a non-zero exit, never a panic. (CI also runs this binary for
//! its multi-process and contract checks.)

use std::path::Path;
use std::process::{Command, Output};

fn brigade(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brigade"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("BRIGADE_LOG_LEVEL", "warn")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_import_of_a_missing_directory_fails_with_a_readable_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = brigade(
        dir.path(),
        &[
            "orders",
            "import",
            "--format",
            "pizza-sales",
            "/nonexistent/brigade-logs",
        ],
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("/nonexistent/brigade-logs"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn errors_are_said_once_and_in_words() {
    let dir = tempfile::tempdir().unwrap();
    // A rejects file that cannot be written names the file and the reason once.
    let polls = dir.path().join("polls");
    std::fs::create_dir_all(&polls).unwrap();
    std::fs::write(
        polls.join("store_status.csv"),
        "store_id,status,timestamp_utc\n",
    )
    .unwrap();
    let out = brigade(
        &dir.path().join("data"),
        &[
            "monitoring",
            "import",
            "--dir",
            polls.to_str().unwrap(),
            "--rejects",
            "/nonexistent/rejects.csv",
        ],
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("/nonexistent/rejects.csv"), "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    // A data directory that cannot be made says so without the database library's wording.
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, "").unwrap();
    let out = brigade(&blocked.join("data"), &["migrate"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.starts_with("error: cannot create"), "{stderr}");
    assert!(!stderr.contains("Custom Error"), "{stderr}");
    // Commands other than `serve` print their own result, not the migrations' log lines (with no
    // log level asked for).
    let out = Command::new(env!("CARGO_BIN_EXE_brigade"))
        .arg("--data-dir")
        .arg(dir.path().join("quiet"))
        .arg("migrate")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("BRIGADE_LOG_LEVEL")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        !text(&out.stderr).contains("Applying migration"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stdout).contains("Applying migration"));
}

/// A small log in the pizza-sales format: `days` days from 2015-01-01, a weekly pattern of orders.
fn pizza_log(dir: &Path, days: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut orders = String::from("order_id,date,time\n");
    let mut details = String::from("order_details_id,order_id,pizza_id,quantity\n");
    let mut id = 0;
    for day in 0..days {
        let date =
            chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap() + chrono::Days::new(day as u64);
        let count = [12, 14, 13, 16, 25, 30, 18][day % 7] + (day * 7) % 5;
        for k in 0..count {
            id += 1;
            orders.push_str(&format!(
                "{id},{date},{}:{:02}:00\n",
                11 + k % 10,
                (k * 7) % 60
            ));
            details.push_str(&format!("{id},{id},margherita_m,1\n"));
        }
    }
    std::fs::write(dir.join("orders.csv"), orders).unwrap();
    std::fs::write(dir.join("order_details.csv"), details).unwrap();
    std::fs::write(
        dir.join("pizzas.csv"),
        "pizza_id,pizza_type_id,size,price\nmargherita_m,margherita,M,12.50\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("pizza_types.csv"),
        "pizza_type_id,name,category,ingredients\nmargherita,The Margherita Pizza,Classic,\"Tomatoes, Mozzarella Cheese\"\n",
    )
    .unwrap();
}

#[test]
fn a_backtest_prints_every_candidate_and_names_an_unknown_restaurant() {
    let dir = tempfile::tempdir().unwrap();
    let out = brigade(
        dir.path(),
        &["forecast", "backtest", "--restaurant", "no-such-place"],
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no-such-place"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let log = dir.path().join("log");
    pizza_log(&log, 160);
    let out = brigade(
        dir.path(),
        &[
            "orders",
            "import",
            "--format",
            "pizza-sales",
            log.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = brigade(
        dir.path(),
        &[
            "forecast",
            "backtest",
            "--restaurant",
            "pizza-sales",
            "--as-of",
            "2015-06-10T00:00:00Z",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for candidate in [
        "seasonal_naive",
        "weekday_mean",
        "holt_winters",
        "theta",
        "ensemble",
    ] {
        assert!(stdout.contains(candidate), "{candidate} missing: {stdout}");
    }
    assert!(stdout.contains("chosen:"), "{stdout}");
}
