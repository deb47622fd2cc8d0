//! `embercast bench connect`: how fast connections connect and join.

use std::io;

use super::session::{self, Session, Work};
use super::LoadArgs;

pub async fn run(args: LoadArgs) -> io::Result<()> {
    let pid = args.server_pid;
    let baseline = session::sample(pid);
    let work = Work { event: String::new(), broadcasts: 0, pushes: 0, payload_bytes: 0 };
    let mut s = Session::start(args, work).await?;
    s.wait(s.deadline, Session::settled).await;
    let joined = session::settled_sample(pid).await;
    let m = s.finish().await;
    let r = m.base_report("connect", &s, (baseline, joined));
    session::print(&r);
    if m.failed > 0 {
        return Err(io::Error::other(format!("{} of {} connections failed", m.failed, s.args.connections)));
    }
    Ok(())
}
