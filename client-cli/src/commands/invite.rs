//! `tandem invite` and `tandem join`: a code that carries a workspace, its relay and a token to a
//! partner, and the first fetch of a workspace this device does not have yet.

use super::sync::{ca_file_flag, handshake, peer_id, runtime, sync, RelayFlags};
use crate::cli::values;
use crate::context::Context;
use crate::net::{post_json, Connection};
use anyhow::{anyhow, bail, Context as _, Result};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tandem_core::automerge::AutoCommit;
use tandem_core::model::Role;
use tandem_core::protocol::Message;
use tandem_core::store::RelaySettings;
use tandem_core::sync::ClientSession;

#[derive(Debug, Args)]
pub struct InviteArgs {
    /// The role the partner will take.
    #[arg(long, value_parser = values::role(), default_value = "mentee")]
    role: Role,
}

#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The invite code.
    code: String,
    /// Your name as your partner will see it.
    #[arg(long)]
    name: String,
    /// A private certificate authority (PEM) to trust for a wss:// relay, besides the
    /// system's; remembered with the relay.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Give up on an unresponsive relay after this many seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    timeout: u64,
}

/// What `invite --json` prints (fields in the order `--json` has always printed them).
#[derive(Serialize)]
struct Invited<'a> {
    code: &'a str,
    id: &'a str,
    relay: &'a str,
    role: &'a str,
}

/// What `join --json` prints.
#[derive(Serialize)]
struct Joined<'a> {
    id: &'a str,
    participant: Option<&'a str>,
    role: &'a str,
    title: &'a str,
}

/// What an invite code carries. It is base58 text so it survives chat apps and email.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Invite {
    /// The relay's URL.
    r: String,
    /// The workspace's document id.
    w: String,
    /// A token scoped to the workspace, when the relay needs one.
    #[serde(skip_serializing_if = "Option::is_none")]
    t: Option<String>,
    /// The role the invitee is expected to take.
    o: String,
    /// The workspace title, to show before joining.
    n: String,
}

const INVITE_PREFIX: &str = "tandem1";

fn encode_invite(invite: &Invite) -> Result<String> {
    Ok(format!(
        "{INVITE_PREFIX}{}",
        bs58::encode(serde_json::to_vec(invite)?).into_string()
    ))
}

fn decode_invite(code: &str) -> Result<Invite> {
    let bad = || {
        anyhow!("this is not a tandem invite code (it should start with {INVITE_PREFIX}); ask your partner to run `tandem invite` again")
    };
    let body = code.trim().strip_prefix(INVITE_PREFIX).ok_or_else(bad)?;
    let bytes = bs58::decode(body).into_vec().map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

pub fn invite(ctx: &Context, args: InviteArgs) -> Result<()> {
    let role = args.role;
    let (id, title, url, code) = make_invite(ctx, role.clone())?;
    if ctx.json {
        return ctx.print_json(&Invited {
            code: &code,
            id: &id,
            relay: &url,
            role: role.as_str(),
        });
    }
    if ctx.quiet {
        println!("{code}");
        return Ok(());
    }
    println!("Invite to “{title}” as {}:\n\n  {code}\n", role.as_str());
    println!("Your partner runs:  tandem join {code} --name THEIR-NAME");
    println!("Anyone with this code can open the workspace; share it only with them.");
    Ok(())
}

/// An invite code for `role`, without printing it (for `tandem demo`).
pub fn invite_code(ctx: &Context, role: Role) -> Result<String> {
    Ok(make_invite(ctx, role)?.3)
}

/// Ask the relay for a token for the partner and build the code: (id, title, relay, code).
fn make_invite(ctx: &Context, role: Role) -> Result<(String, String, String, String)> {
    let (id, title, relay) = {
        let home = ctx.home()?;
        let id = home.resolve(ctx.selector.as_deref())?;
        let opened = home.open_workspace(&id, ctx.now)?;
        let relay = home.relay(&id)?.ok_or_else(|| anyhow!("this workspace has no relay yet: run `tandem sync --server ws://HOST:PORT` first, so your partner can fetch it"))?;
        (id, opened.ws.title(), relay)
    };
    let access = if role == Role::Observer {
        "read"
    } else {
        "write"
    };
    let (status, body) = post_json(
        &relay.url,
        "/v1/invites",
        relay.token.as_deref(),
        relay.ca_file.as_deref(),
        &json!({ "workspace": id, "role": access, "label": format!("invite as {}", role.as_str()) }),
        Duration::from_secs(10),
    )?;
    let token = match status {
        200 => body
            .get("token")
            .and_then(|t| t.as_str())
            .map(str::to_string),
        401 => bail!("the relay refused your token; you cannot invite to this workspace"),
        403 => bail!("your token may not invite to this workspace (it needs write access)"),
        other => bail!(
            "the relay answered {other} to the invite: {}",
            body.get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("no reason given")
        ),
    };
    let code = encode_invite(&Invite {
        r: relay.url.clone(),
        w: id.clone(),
        t: token,
        o: role.as_str().into(),
        n: title.clone(),
    })?;
    Ok((id, title, relay.url, code))
}

pub fn join(ctx: &Context, args: JoinArgs) -> Result<()> {
    let name = args.name.as_str();
    let timeout = Duration::from_secs(args.timeout);
    let invite = decode_invite(&args.code)?;
    let relay = RelaySettings {
        url: invite.r.clone(),
        token: invite.t.clone(),
        ca_file: ca_file_flag(args.ca_file)?,
    };
    let role: Role = invite.o.parse()?;
    if name.trim().is_empty() {
        bail!("the name must not be empty");
    }
    let storage_id = {
        let home = ctx.home()?;
        if home.load_doc(&invite.w)?.is_some() {
            bail!(
                "this device already has “{}”; run `tandem sync` to catch up",
                invite.n
            );
        }
        home.storage_id()?
    };
    let rt = runtime()?;
    let mut session = ClientSession::new(peer_id(), Some(storage_id));
    let outcome = rt.block_on(async {
        let mut conn = handshake(&relay, &mut session, timeout).await?;
        session.add_doc(invite.w.clone(), AutoCommit::new(), None);
        let result = fetch(&mut conn, &mut session, &invite.w, timeout).await;
        conn.close().await;
        result
    });
    outcome?;
    let home = ctx.home()?;
    let doc = session.doc_mut(&invite.w).expect("added above");
    let (merged, _) = home
        .absorb(&invite.w, doc)
        .with_context(|| format!("cannot open “{}”", invite.n))?;
    drop(merged);
    home.set_relay(&invite.w, &relay)?;
    let pid = if role == Role::Observer {
        // An observer's token is read-only, so the relay would refuse any change from this
        // device, including its own participant record; the workspace is followed read-only.
        home.set_read_only(&invite.w, true)?;
        None
    } else {
        let mut opened = home.open_workspace(&invite.w, ctx.now)?;
        let existing = opened
            .ws
            .participants()
            .into_iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.trim()));
        let pid = match existing {
            Some(p) => {
                opened.ws.add_device(&p.id, home.actor())?;
                p.id
            }
            None => opened
                .ws
                .add_participant(name, role.clone(), home.actor())?,
        };
        home.save(&mut opened)?;
        home.set_me(&invite.w, &pid)?;
        Some(pid)
    };
    home.switch(&invite.w)?;
    drop(home);
    if !ctx.quiet && !ctx.json {
        println!(
            "Joined “{}” as {} ({}).",
            invite.n,
            name.trim(),
            role.as_str()
        );
    }
    if pid.is_some() {
        // Push the new participant so the partner sees who joined.
        let quiet = Context {
            json: false,
            quiet: true,
            ..ctx.clone_for(Some(invite.w.clone()))
        };
        sync(&quiet, &RelayFlags::default(), timeout)
            .context("joined, but the first sync failed; run `tandem sync` later")?;
    }
    if ctx.json {
        ctx.print_json(&Joined {
            id: &invite.w,
            participant: pid.as_deref(),
            role: role.as_str(),
            title: &invite.n,
        })?;
    }
    Ok(())
}

/// Receive a document this device does not have yet.
async fn fetch(
    conn: &mut Connection,
    session: &mut ClientSession,
    id: &str,
    timeout: Duration,
) -> Result<()> {
    // A peer with nothing asks with `request`, so the relay can say it does not have it.
    let start: Vec<Message> = session
        .start()
        .into_iter()
        .map(|m| match m {
            Message::Sync {
                sender_id,
                target_id,
                document_id,
                data,
            } => Message::Request {
                sender_id,
                target_id,
                document_id,
                data,
            },
            other => other,
        })
        .collect();
    conn.send_all(start).await?;
    let deadline = Instant::now() + timeout;
    loop {
        let progress = session.progress();
        let p = progress.iter().find(|p| p.id == id).expect("added");
        if p.received > 0 && session.settled() {
            return Ok(());
        }
        if p.unavailable {
            bail!("the relay does not have this workspace yet: ask your partner to run `tandem sync`, then join again");
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(remaining, conn.recv())
            .await
            .map_err(|_| {
                anyhow!(
                    "the relay did not send the workspace within {}s",
                    timeout.as_secs()
                )
            })??
            .ok_or_else(|| {
                anyhow!("the relay closed the connection before sending the workspace")
            })?;
        let replies = session.receive(msg)?;
        conn.send_all(replies).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_codes_round_trip_and_reject_garbage() {
        let invite = Invite {
            r: "ws://127.0.0.1:3030".into(),
            w: "4NMNnkMhL8jXrdJ9jamS58PAVdXu".into(),
            t: Some("tdm_x".into()),
            o: "mentee".into(),
            n: "Ana & Ben".into(),
        };
        let code = encode_invite(&invite).unwrap();
        assert!(code.starts_with(INVITE_PREFIX));
        assert_eq!(decode_invite(&code).unwrap(), invite);
        assert!(decode_invite("hello").is_err());
        assert!(decode_invite("tandem1!!!").is_err());
        assert!(decode_invite(&code[..code.len() - 3]).is_err());
    }
}
