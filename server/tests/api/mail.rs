//! Mails when jobs end (`[notif]`), received by a real SMTP server (Debian's aiosmtpd, run by
//! the test into a Maildir): a done job's, a failed one's, an interrupted one's; an SMTP
//! server that cannot be reached leaves the job as it was, and is logged.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{self, Server};
use crate::support::*;

/// An SMTP server on loopback that keeps what it receives in a Maildir.
struct Smtp {
    port: u16,
    maildir: PathBuf,
    child: Child,
}

impl Smtp {
    fn start(dir: &Path) -> Smtp {
        let port = closed_port();
        let maildir = dir.join("maildir");
        // Debian's Python, which has the package (not another first on the PATH).
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox", maildir.to_str().unwrap()])
            .stderr(Stdio::null())
            .spawn()
            .expect("/usr/bin/python3 -m aiosmtpd (apt package python3-aiosmtpd)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Smtp {
            port,
            maildir,
            child,
        }
    }

    /// The mail that names `session` in its subject, once it has come (within 20 s).
    fn mail_of(&self, session: &str) -> String {
        let started = Instant::now();
        loop {
            let mails = std::fs::read_dir(self.maildir.join("new"))
                .into_iter()
                .flatten();
            for mail in mails {
                let text = std::fs::read_to_string(mail.unwrap().path()).unwrap();
                if header(&text, "Subject").contains(session) {
                    return format!(
                        "{}\n\n{}",
                        text.split("\n\n").next().unwrap(),
                        body_of(&text)
                    );
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no mail for {session}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn count(&self) -> usize {
        std::fs::read_dir(self.maildir.join("new")).map_or(0, |d| d.count())
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of a mail's header `name`, unfolded.
fn header(mail: &str, name: &str) -> String {
    let head = mail.split("\n\n").next().unwrap_or_default();
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    unfolded
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
        .unwrap_or_default()
        .to_owned()
}

/// A mail's body, decoded from quoted-printable when it is so encoded.
fn body_of(mail: &str) -> String {
    let body = mail.split_once("\n\n").map_or("", |(_, body)| body);
    if header(mail, "Content-Transfer-Encoding") != "quoted-printable" {
        return body.to_owned();
    }
    let joined = body.replace("=\n", "");
    let mut out = Vec::new();
    let mut bytes = joined.bytes();
    while let Some(b) = bytes.next() {
        if b == b'=' {
            let hex: String = bytes.by_ref().take(2).map(char::from).collect();
            out.push(u8::from_str_radix(&hex, 16).expect("=XX"));
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).unwrap()
}

fn notif(port: u16) -> String {
    format!(
        "\n[notif]\ntype = \"smtp\"\nurl = \"https://kmviz.example.org/\"\n\
         subject = \"[kmviz] {{SESSION}} {{STATUS}}\"\n\
         success = \"Done for {{TEAM}}: {{LINK}}\\n{{SUMMARY}}\\n\"\n\
         custom = {{ TEAM = \"the lab\" }}\n\
         [notif.params]\nserver = \"127.0.0.1:{port}\"\n\
         sender = \"kmviz <kmviz@example.org>\"\nsecurity = \"none\"\ntimeout = 5\n"
    )
}

fn body(email: &str, databases: Value) -> Value {
    json!({
        "fastx": format!(">q1\n{}\n", common::records("pa_dataset", 1)[0].seq),
        "databases": databases,
        "email": email,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_ends_is_mailed_to_who_asked() {
    let dir = temp_dir("mail");
    let smtp = Smtp::start(&dir);
    let failing = remote_database("down", closed_port());
    let extra = format!(
        "{failing}{}[ui]\nui_notif_msg = \"Mails come from kmviz@example.org\"\n",
        notif(smtp.port)
    );
    let (server, _dir) = instance("mailed", &extra);
    let (status, info) = common::get_json(&server.url("/api/info")).await;
    assert_eq!(status, 200);
    assert_eq!(
        info["notify"]["message"],
        "Mails come from kmviz@example.org"
    );

    // Done: the success template, filled; the summary names the pair and its samples.
    let (status, submitted) = submit(&server, body("alice@example.org", json!(["tsv"]))).await;
    assert_eq!(status, 202, "{submitted}");
    let id = submitted["session"].as_str().unwrap();
    let session = server.finished(id).await;
    let samples = pair(&session, "q1", "tsv")["result"]["hits"]
        .as_array()
        .unwrap()
        .len();
    assert!(samples > 0);
    let mail = smtp.mail_of(id);
    assert_eq!(header(&mail, "Subject"), format!("[kmviz] {id} done"));
    assert_eq!(header(&mail, "To"), "alice@example.org");
    assert_eq!(header(&mail, "From"), "kmviz <kmviz@example.org>");
    assert!(
        mail.contains(&format!(
            "Done for the lab: https://kmviz.example.org/s/{id}\n"
        )),
        "{mail}"
    );
    assert!(
        mail.contains(&format!("- q1 on tsv: {samples} samples")),
        "{mail}"
    );
    assert!(
        mail.contains("1 queries on 1 databases: 1 pairs done, 0 failed, 0 cancelled."),
        "{mail}"
    );

    // A failed pair: the default failure templates, with the reason and the pair's error.
    let (status, submitted) =
        submit(&server, body("bob@example.org", json!(["tsv", "down"]))).await;
    assert_eq!(status, 202, "{submitted}");
    let id = submitted["session"].as_str().unwrap();
    server.finished(id).await;
    let mail = smtp.mail_of(id);
    assert_eq!(
        header(&mail, "Subject"),
        format!("[kmviz] session {id}: done, with failures")
    );
    assert_eq!(header(&mail, "To"), "bob@example.org");
    assert!(
        mail.contains(&format!(
            "Your kmviz session {id} is done: 1 of 2 pairs failed."
        )),
        "{mail}"
    );
    assert!(mail.contains("- q1 on down: failed: "), "{mail}");

    // kmviz 0.8's form takes the address too.
    let form = new_form().text("email", "carol@example.org").part(
        "fastx",
        reqwest::multipart::Part::text(">q\nACGTACGTACGTACGTACGTACGTACGTACGT\n").file_name("q.fa"),
    );
    let response = post_form(&server, "/api/query/tsv", form).await;
    assert_eq!(response.status(), 200);
    let started = Instant::now();
    while !mail_to(&smtp, "carol@example.org") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no mail to carol"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // No address: no mail.
    let before = smtp.count();
    let (_, submitted) = submit(
        &server,
        json!({"fastx": ">q\nACGT\n", "databases": ["tsv"]}),
    )
    .await;
    server
        .finished(submitted["session"].as_str().unwrap())
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.count(), before);

    // Addresses that are not: refused, naming the field; nothing stored.
    let (status, refused) = submit(&server, body("not an address", json!(["tsv"]))).await;
    assert_eq!(status, 400);
    let error = refused["error"].as_str().unwrap();
    assert!(
        error.starts_with("email: 'not an address' is not an e-mail address"),
        "{error}"
    );
}

/// Whether a mail to `address` has come.
fn mail_to(smtp: &Smtp, address: &str) -> bool {
    std::fs::read_dir(smtp.maildir.join("new"))
        .into_iter()
        .flatten()
        .any(|m| header(&std::fs::read_to_string(m.unwrap().path()).unwrap(), "To") == address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_refused_or_lost_leaves_jobs_alone() {
    // An instance that sends no mail refuses an address, rather than drop it.
    let (server, _dir) = instance("nomail", "");
    let (status, refused) = submit(&server, body("alice@example.org", json!(["tsv"]))).await;
    assert_eq!(status, 400);
    assert_eq!(
        refused["error"],
        "email: this instance sends no mail (it has no [notif] section)"
    );

    // An SMTP server that cannot be reached: the job is done as ever, the failure logged.
    let config = write_instance("lostmail", &notif(closed_port()));
    let server = Server::process(&config);
    let (status, submitted) = submit(&server, body("dave@example.org", json!(["tsv"]))).await;
    assert_eq!(status, 202);
    let id = submitted["session"].as_str().unwrap();
    let session = server.finished(id).await;
    assert_eq!(session["status"], "done");
    assert_eq!(pair(&session, "q1", "tsv")["state"], "done");
    let line = server
        .log_line("could not be sent")
        .expect("the failure is logged");
    assert!(
        line.contains(&format!(
            "session {id}: the mail to dave@example.org could not be sent through 127.0.0.1:"
        )),
        "{line}"
    );

    // A job the server's stop interrupts is mailed as it goes.
    let dir = temp_dir("mailstop-smtp");
    let smtp = Smtp::start(&dir);
    let silent = remote_database("silent", silent_server());
    let extra = format!("{silent}{}[server]\nshutdown_grace = 0\n", notif(smtp.port));
    let config = write_instance("mailstop", &extra);
    let mut server = Server::process(&config);
    let (status, submitted) = submit(&server, body("erin@example.org", json!(["silent"]))).await;
    assert_eq!(status, 202);
    let id = submitted["session"].as_str().unwrap().to_owned();
    let (exited, _) = server.terminate();
    assert!(exited);
    let mail = smtp.mail_of(&id);
    assert_eq!(
        header(&mail, "Subject"),
        format!("[kmviz] session {id}: interrupted, with failures")
    );
    assert!(
        mail.contains("the server stopped before it finished"),
        "{mail}"
    );

    // A job whose server was killed is mailed by the next server on the store, as it marks
    // the job interrupted.
    let server = Server::process(&config);
    let (status, submitted) = submit(&server, body("frank@example.org", json!(["silent"]))).await;
    assert_eq!(status, 202);
    let id = submitted["session"].as_str().unwrap().to_owned();
    let killed = Command::new("kill")
        .args(["-KILL", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    drop(server);
    let _next = Server::process(&config);
    let mail = smtp.mail_of(&id);
    assert_eq!(header(&mail, "To"), "frank@example.org");
    assert!(
        mail.contains(&format!("Your kmviz session {id} is interrupted")),
        "{mail}"
    );
}
