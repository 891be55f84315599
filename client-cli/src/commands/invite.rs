//! `tandem invite` and `tandem join`: a code that carries a workspace, its relay and a token to a
//! partner, and the first fetch of a workspace this device does not have yet.

use super::sync::{ca_file_flag, handshake, peer_id, runtime, sync, RelayFlags};
use crate::context::Context;
use crate::net::{http_json, post_json, Connection};
use crate::values;
use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tandem_core::automerge::AutoCommit;
use tandem_core::jiff::Timestamp;
use tandem_core::model::time::{display_instant, Stored};
use tandem_core::model::{new_item_id, Role};
use tandem_core::protocol::{DocumentId, Message};
use tandem_core::store::{RedeemedInvite, RelaySettings};
use tandem_core::sync::ClientSession;
use tandem_server::invites::{canonical_code, hash_code};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct InviteArgs {
    #[command(subcommand)]
    action: Option<InviteAction>,
    /// The role the partner will take (only mentors invite mentors).
    #[arg(long, value_parser = values::role(), default_value = "mentee")]
    role: Role,
    /// How many times the code may be used.
    #[arg(long, default_value_t = 1, value_name = "N")]
    uses: u32,
    /// How long the code works, e.g. 30m, 12h, 7d or 2w.
    #[arg(long, default_value = "7d", value_parser = parse_duration, value_name = "DURATION")]
    expires: u64,
    /// An invite for another device of yours: it joins as you, with your role.
    #[arg(long, conflicts_with = "role")]
    device: bool,
    /// The observer's name, as partners will see it; required with --role observer. An
    /// observer cannot write to the plan, so the mentor who invites them lists them.
    #[arg(long, value_name = "NAME", required_if_eq("role", "observer"))]
    name: Option<String>,
}

#[derive(Debug, Subcommand)]
enum InviteAction {
    /// The open invites to this workspace (never their codes).
    List,
    /// Withdraw an invite, by the id `invite list` shows.
    Revoke {
        /// The invite's id (inv_…).
        id: String,
    },
}

/// A duration typed as a number and a unit (s, m, h, d, w), in seconds.
fn parse_duration(text: &str) -> std::result::Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration such as 30m, 12h, 7d or 2w"))?;
    let unit = match unit.trim() {
        "s" => 1,
        "" | "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        other => return Err(format!("unknown unit '{other}': use s, m, h, d or w")),
    };
    Ok(number.saturating_mul(unit))
}

#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The invite: a code (ABCD-EFGH-JKMN, with --server), a link (https://RELAY/j/CODE), or
    /// an automerge: URL (with --server) for a relay or automerge-repo server without invites.
    invite: String,
    /// The relay, for a code or an automerge: URL (ws://HOST:PORT or wss://HOST).
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// A token for the server, with an automerge: URL, if it needs one.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Your name as your partner will see it (not needed for a --device invite).
    #[arg(long)]
    name: Option<String>,
    /// A private certificate authority (PEM) to trust for a wss:// relay, besides the
    /// system's; remembered with the relay.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Give up on an unresponsive relay after this many seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    timeout: u64,
}

/// What `invite --json` prints. On a relay that makes no invites (an open one, or another
/// automerge-repo server), `code`, `link`, `id` and `expires_at` are null and `url` says what
/// to join.
#[derive(Serialize)]
struct Invited<'a> {
    code: Option<&'a str>,
    link: Option<&'a str>,
    expires_at: Option<&'a str>,
    id: Option<&'a str>,
    uses: Option<u64>,
    workspace: &'a str,
    url: String,
    relay: &'a str,
    role: &'a str,
    participant: Option<&'a str>,
}

/// One open invite, as `invite list --json` prints it.
#[derive(Serialize, Deserialize)]
struct OpenInvite {
    id: String,
    role: String,
    uses_left: u64,
    expires_at: String,
    created_at: String,
    #[serde(default)]
    label: String,
    participant: Option<String>,
}

/// What `join --json` prints.
#[derive(Serialize)]
struct Joined<'a> {
    id: &'a str,
    participant: Option<&'a str>,
    role: &'a str,
    title: &'a str,
    /// Whether this device already held the workspace, so the join only attached the relay.
    attached: bool,
}

/// What an old (`tandem1…`) invite code carries. Such codes are still accepted.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct LegacyInvite {
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

const LEGACY_PREFIX: &str = "tandem1";

#[cfg(test)]
fn encode_legacy(invite: &LegacyInvite) -> Result<String> {
    Ok(format!(
        "{LEGACY_PREFIX}{}",
        bs58::encode(serde_json::to_vec(invite)?).into_string()
    ))
}

fn decode_legacy(code: &str) -> Result<LegacyInvite> {
    let bad = || {
        anyhow!("this is not a tandem invite code; ask your partner to run `tandem invite` again")
    };
    let body = code.trim().strip_prefix(LEGACY_PREFIX).ok_or_else(bad)?;
    let bytes = bs58::decode(body).into_vec().map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

/// The relay of an invite link `http(s)://HOST/j/CODE`: (`ws(s)://HOST`, CODE).
fn parse_link(link: &str) -> Option<(String, String)> {
    let (scheme, rest) = link.trim().split_once("://")?;
    let ws = match scheme.to_ascii_lowercase().as_str() {
        "https" => "wss",
        "http" => "ws",
        _ => return None,
    };
    let (host, path) = rest.split_once('/')?;
    let code = path.strip_prefix("j/")?.split(['?', '#']).next()?;
    (!host.is_empty() && !code.is_empty()).then(|| (format!("{ws}://{host}"), code.to_string()))
}

/// The workspace this device is working in, its relay, and who this device is in it.
struct Inviter {
    id: String,
    title: String,
    relay: RelaySettings,
    me: Option<tandem_core::model::Participant>,
}

fn inviter(ctx: &Context) -> Result<Inviter> {
    let home = ctx.home()?;
    let id = home.resolve(ctx.selector())?;
    let opened = home.open_workspace(&id, ctx.now)?;
    let relay = home.relay(&id)?.ok_or_else(|| anyhow!("this workspace has no relay yet: run `tandem sync --server ws://HOST:PORT` first, so your partner can fetch it"))?;
    let me = opened.ws.me().and_then(|me| opened.ws.participant(me));
    Ok(Inviter {
        id: id.to_string(),
        title: opened.ws.title(),
        relay,
        me,
    })
}

impl Inviter {
    /// Ask the workspace's relay to list or revoke its invites, with this device's token.
    fn manage_invites(&self, method: &str, path: &str) -> Result<(u16, serde_json::Value)> {
        http_json(
            method,
            &self.relay.url,
            path,
            self.relay.token.as_deref(),
            self.relay.ca_file.as_deref(),
            None,
            Duration::from_secs(10),
        )
    }
}

/// Why the relay turned a request down, as its JSON error says.
fn relay_reason(body: &serde_json::Value) -> &str {
    body.get("error")
        .and_then(|e| e.as_str())
        .unwrap_or("no reason given")
}

/// The error for a list or revoke of invites the relay did not do, whether the token lacks the
/// right or the relay answered otherwise.
fn management_refused(status: u16, body: &serde_json::Value) -> anyhow::Error {
    match status {
        401 | 403 => anyhow!("your token may not manage invites to this workspace"),
        other => anyhow!("the relay answered {other}: {}", relay_reason(body)),
    }
}

/// An invite as made: what `invite` prints.
struct Made {
    inviter: Inviter,
    role: Role,
    participant: Option<String>,
    /// The name of the observer this invite is for, listed as a participant by the inviter.
    observer: Option<String>,
    /// The relay's answer, or `None` for a relay that makes no invites.
    answer: Option<serde_json::Value>,
}

impl Made {
    fn field(&self, name: &str) -> Option<&str> {
        self.answer.as_ref()?.get(name)?.as_str()
    }

    /// The arguments of the `tandem join` that uses this invite.
    fn join_args(&self) -> Vec<String> {
        match self.field("link") {
            Some(link) => vec![link.to_string()],
            None => vec![
                format!("automerge:{}", self.inviter.id),
                "--server".into(),
                self.inviter.relay.url.clone(),
            ],
        }
    }
}

pub fn invite(ctx: &Context, args: InviteArgs) -> Result<()> {
    match args.action {
        Some(InviteAction::List) => return list(ctx),
        Some(InviteAction::Revoke { id }) => return revoke(ctx, &id),
        None => {}
    }
    let made = make_invite(ctx, &args)?;
    let role = made.role.as_str();
    if ctx.json {
        return ctx.print_json(&Invited {
            code: made.field("code"),
            link: made.field("link"),
            expires_at: made.field("expires_at"),
            id: made.field("id"),
            uses: made.answer.as_ref().and_then(|a| a.get("uses")?.as_u64()),
            workspace: &made.inviter.id,
            url: format!("automerge:{}", made.inviter.id),
            relay: &made.inviter.relay.url,
            role,
            participant: made.participant.as_deref(),
        });
    }
    let join = made.join_args().join(" ");
    if ctx.quiet {
        // The link alone is enough to join, so it is what a script gets.
        println!("{}", made.field("link").unwrap_or(&join));
        return Ok(());
    }
    let title = &made.inviter.title;
    match (made.field("code"), made.field("link")) {
        (Some(code), Some(link)) => {
            let who = match (&made.observer, &made.participant) {
                (Some(name), _) => format!("{} (observer)", crate::render::line(name)),
                (None, Some(_)) => "another device of yours".to_string(),
                (None, None) => format!("a {role}"),
            };
            println!("Invite to “{title}” for {who}:\n\n  {code}\n\n  {link}\n");
            let uses = made
                .answer
                .as_ref()
                .and_then(|a| a.get("uses")?.as_u64())
                .unwrap_or(1);
            let expires = local_time(ctx, made.field("expires_at").unwrap_or("?"));
            let times = if uses == 1 {
                "once".to_string()
            } else {
                format!("{uses} times")
            };
            println!("It works {times}, until {expires}.");
            if let Some(name) = &made.observer {
                let name = crate::render::line(name);
                println!("{name} runs:  tandem join {link}");
                println!("{name} is listed as an observer of “{title}” now; they can read the plan and never change it.");
            } else if made.participant.is_some() {
                println!("On the other device:  tandem join {link}");
            } else {
                println!("Your partner runs:  tandem join {link} --name THEIR-NAME");
                println!(
                    "(or  tandem join {code} --server {} --name THEIR-NAME)",
                    made.inviter.relay.url
                );
            }
        }
        _ => {
            println!("This relay makes no invites: anyone who can reach it can open “{title}”.");
            println!(
                "Share the workspace's address and the relay's:\n\n  automerge:{}\n  {}\n",
                made.inviter.id, made.inviter.relay.url
            );
            println!("Your partner runs:  tandem join {join} --name THEIR-NAME");
        }
    }
    Ok(())
}

/// The `tandem join` arguments for an invite to `role` (for `tandem demo`).
pub fn invite_join_args(ctx: &Context, role: Role) -> Result<Vec<String>> {
    let args = InviteArgs {
        action: None,
        role,
        uses: 1,
        expires: 7 * 86_400,
        device: false,
        name: None,
    };
    Ok(make_invite(ctx, &args)?.join_args())
}

/// Ask the relay for an invite code, after checking that this device may make it. An
/// observer's invite also lists the observer as a participant, by the name the inviter gave.
fn make_invite(ctx: &Context, args: &InviteArgs) -> Result<Made> {
    let (role, uses, expires, device) = (args.role.clone(), args.uses, args.expires, args.device);
    let inviter = inviter(ctx)?;
    let my_role = inviter.me.as_ref().map(|p| p.role.clone());
    if inviter.me.as_ref().is_some_and(|p| p.is_removed()) {
        bail!(
            "a mentor removed you from “{}”, so you cannot invite to it",
            inviter.title
        );
    }
    // The observer's participant id is chosen here, so that the invite can carry it and the
    // observer's devices know who they are.
    let observer = match (&role, device, args.name.as_deref().map(str::trim)) {
        (Role::Observer, false, Some(name)) => {
            if name.is_empty() {
                bail!("the observer's name must not be empty");
            }
            let home = ctx.home()?;
            let opened = ctx.workspace(&home)?;
            if let Some(holder) = opened.ws.name_holder(name, None) {
                bail!(
                    "“{}” is already a participant of “{}” ({}); give the observer another --name",
                    holder.name,
                    inviter.title,
                    holder.role
                );
            }
            Some((new_item_id().to_string(), name.to_string()))
        }
        (_, _, Some(_)) => bail!(
            "--name names an observer; mentors and mentees give their own name when they join"
        ),
        _ => None,
    };
    let (role, participant) = if device {
        let me = inviter.me.as_ref().ok_or_else(|| {
            anyhow!(
                "this device is not a participant of “{}”, so it has no devices to add",
                inviter.title
            )
        })?;
        (me.role.clone(), Some(me.id.clone()))
    } else {
        (role, observer.as_ref().map(|(pid, _)| pid.clone()))
    };
    if role == Role::Mentor && !device && my_role != Some(Role::Mentor) {
        bail!("only mentors can invite mentors; invite as mentee or observer instead");
    }
    if my_role == Some(Role::Observer) && !device {
        bail!("observers cannot invite anyone to “{}”", inviter.title);
    }
    let label = match (&observer, &participant) {
        (Some((_, name)), _) => format!("observer {name}"),
        (None, Some(_)) => format!(
            "a device of {}",
            inviter.me.as_ref().map_or("?", |p| p.name.as_str())
        ),
        (None, None) => format!("invite as {}", role.as_str()),
    };
    let (status, body) = post_json(
        &inviter.relay.url,
        "/v1/invites",
        inviter.relay.token.as_deref(),
        inviter.relay.ca_file.as_deref(),
        &json!({
            "workspace": inviter.id,
            "role": role.as_str(),
            "uses": uses,
            "expires_in_secs": expires,
            "participant": participant,
            "label": label,
        }),
        Duration::from_secs(10),
    )?;
    let code = body.get("code").and_then(|c| c.as_str());
    let answer = match (status, code) {
        (201, _) => Some(body),
        (401, _) => bail!("the relay refused your token; you cannot invite to this workspace"),
        (403, _) => bail!("your token may not invite to this workspace (it needs write access)"),
        (409, Some("open_relay")) => None,
        // A plain automerge-repo sync server has no such route: whatever it answers is not
        // tandem's JSON error, so it is taken for a server that makes no invites.
        (_, None) => None,
        (other, Some(_)) => bail!(
            "the relay answered {other} to the invite: {}",
            relay_reason(&body)
        ),
    };
    // The relay made the invite: now the observer is listed, and the listing is pushed so it is
    // there when they join. On a relay that makes no invites nobody could join as them, so
    // nothing is written.
    let observer = match (observer, &answer) {
        (Some((pid, name)), Some(_)) => {
            {
                let home = ctx.home()?;
                let mut opened = ctx.workspace(&home)?;
                opened.ws.add_observer(&pid, &name)?;
                home.save(&mut opened)?;
            }
            let quiet = Context {
                json: false,
                quiet: true,
                ..ctx.clone_for(Some(inviter.id.clone()))
            };
            if let Err(e) = sync(&quiet, &RelayFlags::default(), Duration::from_secs(30)) {
                eprintln!("warning: {name} is listed on this device, but the listing did not reach the relay ({e:#}); run `tandem sync` before they join");
            }
            Some(name)
        }
        _ => None,
    };
    Ok(Made {
        inviter,
        role,
        participant,
        observer,
        answer,
    })
}

fn list(ctx: &Context) -> Result<()> {
    let inviter = inviter(ctx)?;
    let path = format!("/v1/invites?workspace={}", inviter.id);
    let (status, body) = inviter.manage_invites("GET", &path)?;
    let invites: Vec<OpenInvite> = match status {
        200 => {
            serde_json::from_value(body).context("the relay's list of invites is not readable")?
        }
        409 => bail!("this relay makes no invites (it is open)"),
        other => return Err(management_refused(other, &body)),
    };
    if ctx.json {
        return ctx.print_json(&invites);
    }
    if invites.is_empty() {
        println!("No open invites to “{}”.", inviter.title);
        return Ok(());
    }
    for i in &invites {
        let who = if i.participant.is_some() {
            "device".to_string()
        } else {
            i.role.clone()
        };
        // The label came over the network, so it is shown safely.
        let label = crate::render::line(&i.label);
        println!(
            "{}  {who:<9} {} use(s) left, until {}  {label}",
            i.id,
            i.uses_left,
            local_time(ctx, &i.expires_at)
        );
    }
    Ok(())
}

/// An instant the relay wrote (RFC 3339, in UTC) as this person's local time, labelled with
/// its zone; an answer that does not parse is shown as it came, made safe for the terminal.
fn local_time(ctx: &Context, at: &str) -> String {
    let at = Stored::<Timestamp>::from_stored(at);
    crate::render::line(&display_instant(&at, &ctx.zone))
}

fn revoke(ctx: &Context, id: &str) -> Result<()> {
    let inviter = inviter(ctx)?;
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("'{id}' is not an invite id (see `tandem invite list`)");
    }
    let (status, body) = inviter.manage_invites("DELETE", &format!("/v1/invites/{id}"))?;
    match status {
        204 => {
            if !ctx.quiet && !ctx.json {
                println!("Revoked invite {id}; its code no longer works.");
            }
            Ok(())
        }
        404 => bail!(
            "no open invite to “{}” has the id {id} (see `tandem invite list`)",
            inviter.title
        ),
        other => Err(management_refused(other, &body)),
    }
}

/// What joining needs, however the invite was given.
struct Ticket {
    relay: RelaySettings,
    workspace: String,
    role: Role,
    participant: Option<String>,
    /// Whether this finishes a join an earlier try began with the same code.
    resumed: bool,
}

/// Turn what the person typed into a ticket, redeeming a code at its relay. Along with it comes
/// the code's hash when the input was a code: a redeemed code is kept in the home under it until
/// the join finishes (see [`RedeemedInvite`]), and a code kept from an earlier try is not
/// redeemed again.
fn ticket(
    ctx: &Context,
    args: &JoinArgs,
    ca_file: Option<PathBuf>,
) -> Result<(Ticket, Option<String>)> {
    let input = args.invite.trim();
    let relay = |url: String, token: Option<String>| RelaySettings {
        url,
        token,
        ca_file: ca_file.clone(),
    };
    if input.starts_with("automerge:") {
        let server = args.server.clone().ok_or_else(|| {
            anyhow!("say where the workspace is: tandem join {input} --server ws://HOST:PORT")
        })?;
        let bare = input.trim_start_matches("automerge:");
        let bare = bare.split('#').next().unwrap_or(bare);
        let doc: DocumentId = bare
            .parse()
            .map_err(|_| anyhow!("'{input}' is not an automerge: URL of a document"))?;
        // There is no invite to say otherwise, so the joiner takes part as a mentee.
        let ticket = Ticket {
            relay: relay(server, args.token.clone()),
            workspace: doc.to_string(),
            role: Role::Mentee,
            participant: None,
            resumed: false,
        };
        return Ok((ticket, None));
    }
    if input.starts_with(LEGACY_PREFIX) {
        let legacy = decode_legacy(input)?;
        let ticket = Ticket {
            relay: relay(legacy.r, legacy.t),
            workspace: legacy.w,
            role: legacy.o.parse()?,
            participant: None,
            resumed: false,
        };
        return Ok((ticket, None));
    }
    let (server, code) = match parse_link(input) {
        Some((server, code)) => (server, code),
        None => {
            let server = args.server.clone().ok_or_else(|| {
                anyhow!("say which relay made the code: tandem join {input} --server wss://HOST (or use the link)")
            })?;
            (server, input.to_string())
        }
    };
    let code_hash = canonical_code(&code).map(|c| hash_code(&c));
    if let Some(hash) = &code_hash {
        if let Some(kept) = ctx.home()?.redeemed(hash)? {
            let ticket = Ticket {
                relay: RelaySettings {
                    url: kept.url,
                    token: Some(kept.token),
                    ca_file: kept.ca_file.or(ca_file),
                },
                workspace: kept.workspace,
                role: kept.role.parse()?,
                participant: kept.participant,
                resumed: true,
            };
            return Ok((ticket, code_hash));
        }
    }
    let (status, body) = post_json(
        &server,
        "/v1/invites/redeem",
        None,
        ca_file.as_deref(),
        &json!({ "code": code }),
        Duration::from_secs(args.timeout),
    )?;
    let text = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_string);
    match status {
        200 => {}
        409 => bail!("this relay makes no invites; ask for the workspace's automerge: URL and join with --server"),
        429 => bail!("too many invite codes tried from here; wait a minute and try again"),
        _ => bail!(
            "{}",
            text("error").unwrap_or_else(|| format!("the relay answered {status} to the invite code"))
        ),
    }
    let (Some(token), Some(workspace), Some(role)) =
        (text("token"), text("workspace"), text("role"))
    else {
        bail!("the relay's answer to the invite code is missing the token or the workspace");
    };
    let ticket = Ticket {
        relay: relay(server, Some(token.clone())),
        workspace: workspace.clone(),
        role: role.parse()?,
        participant: text("participant"),
        resumed: false,
    };
    if let Some(hash) = &code_hash {
        let kept = RedeemedInvite {
            workspace,
            url: ticket.relay.url.clone(),
            token,
            ca_file: ticket.relay.ca_file.clone(),
            role,
            participant: ticket.participant.clone(),
        };
        ctx.home()?.remember_redeemed(hash, &kept)?;
    }
    Ok((ticket, code_hash))
}

pub fn join(ctx: &Context, args: JoinArgs) -> Result<()> {
    let timeout = Duration::from_secs(args.timeout);
    if args.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        bail!("the name must not be empty");
    }
    let ca_file = ca_file_flag(args.ca_file.clone())?;
    let (ticket, code_hash) = ticket(ctx, &args, ca_file)?;
    // The session speaks the relay's text ids; the home takes the id parsed once, here.
    let ws_key = ticket.workspace.clone();
    let ws_id: DocumentId = ws_key.parse().with_context(|| {
        format!("the invite names workspace “{ws_key}”, which is not a document id")
    })?;
    let (storage_id, held) = {
        let home = ctx.home()?;
        (home.storage_id()?, home.load_doc(&ws_id)?.is_some())
    };
    // A copy fetched by an unfinished try with the same code is this join's own, not one the
    // device held before.
    let attached = held && !ticket.resumed;
    if !held {
        let rt = runtime()?;
        let mut session = ClientSession::new(peer_id(), Some(storage_id));
        let outcome = rt.block_on(async {
            let mut conn = handshake(&ticket.relay, &mut session, timeout).await?;
            session.add_doc(ws_key.clone(), AutoCommit::new(), None);
            let result = fetch(&mut conn, &mut session, &ws_key, timeout).await;
            conn.close().await;
            result
        });
        outcome?;
        let home = ctx.home()?;
        let doc = session.doc_mut(&ws_key).expect("added above");
        home.absorb(&ws_id, doc)
            .context("cannot open the workspace the relay sent")?;
    }
    let home = ctx.home()?;
    // A copy this device already holds (from a bundle, or synced with a token since revoked)
    // keeps everything it has: only the relay and the token are replaced, and the sync below
    // sends its local changes.
    home.set_relay(&ws_id, &ticket.relay)?;
    let mut opened = home.open_workspace(&ws_id, ctx.now)?;
    let title = opened.ws.title();
    let (pid, shown_name) = if ticket.role == Role::Observer {
        // An observer's token is read-only, so the relay would refuse any change from this
        // device; the workspace is followed read-only. The mentor who invited them listed
        // them already, under the participant id the invite carries, and this device is them.
        home.set_read_only(&ws_id, true)?;
        let listed = ticket
            .participant
            .as_deref()
            .and_then(|p| opened.ws.participant(p));
        if let Some(me) = &listed {
            home.set_me(&ws_id, &me.id)?;
        }
        let name = listed
            .map(|p| p.name)
            .or_else(|| args.name.clone())
            .unwrap_or_else(|| "an observer".into());
        (None, name)
    } else {
        home.set_read_only(&ws_id, false)?;
        let mine = opened.ws.me().and_then(|me| opened.ws.participant(me));
        let (pid, name) = match (&ticket.participant, mine) {
            // A device invite: this device joins as the person who made it.
            (Some(pid), _) => {
                let person = opened.ws.participant(pid).ok_or_else(|| {
                    anyhow!("this device invite is for a participant “{title}” does not have")
                })?;
                if person.is_removed() {
                    bail!("{} was removed from “{title}”", person.name);
                }
                if !person.devices.contains(&home.actor().to_hex_string()) {
                    opened.ws.add_device(pid, home.actor())?;
                }
                (pid.clone(), person.name)
            }
            // This device is already someone here: it stays who it is.
            (None, Some(me)) => (me.id.clone(), me.name),
            (None, None) => {
                let name = args.name.as_deref().map(str::trim).ok_or_else(|| {
                    anyhow!("give your name as your partner will see it: --name NAME")
                })?;
                if let Some(holder) = opened.ws.name_holder(name, None) {
                    bail!(
                        "“{}” is already a participant of “{title}” ({}); join with another --name (this device keeps the invite, so the same code works again). To use a second device as {}, run `tandem invite --device` on the first one",
                        holder.name,
                        holder.role,
                        holder.name
                    );
                }
                let pid = opened
                    .ws
                    .add_participant(name, ticket.role.clone(), home.actor())?;
                (pid, name.to_string())
            }
        };
        home.save(&mut opened)?;
        home.set_me(&ws_id, &pid)?;
        (Some(pid), name)
    };
    drop(opened);
    // The join is complete, so a code kept from an unfinished try has served its purpose.
    if let Some(hash) = &code_hash {
        home.forget_redeemed(hash)?;
    }
    home.switch(&ws_key)?;
    drop(home);
    if !ctx.quiet && !ctx.json {
        let role = ticket.role.as_str();
        if attached {
            println!(
                "Attached “{title}” to {} as {shown_name} ({role}); local changes are kept.",
                ticket.relay.url
            );
        } else {
            println!("Joined “{title}” as {shown_name} ({role}).");
        }
    }
    if pid.is_some() {
        // Push the new participant (and, for a copy already held, its local changes).
        let quiet = Context {
            json: false,
            quiet: true,
            ..ctx.clone_for(Some(ws_key.clone()))
        };
        sync(&quiet, &RelayFlags::default(), timeout)
            .context("joined, but the first sync failed; run `tandem sync` later")?;
    }
    if ctx.json {
        ctx.print_json(&Joined {
            id: &ws_key,
            participant: pid.as_deref(),
            role: ticket.role.as_str(),
            title: &title,
            attached,
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
    fn old_invite_codes_still_decode() {
        let invite = LegacyInvite {
            r: "ws://127.0.0.1:3030".into(),
            w: "4NMNnkMhL8jXrdJ9jamS58PAVdXu".into(),
            t: Some("tdm_x".into()),
            o: "mentee".into(),
            n: "Ana & Ben".into(),
        };
        let code = encode_legacy(&invite).unwrap();
        assert_eq!(decode_legacy(&code).unwrap(), invite);
        assert!(decode_legacy("hello").is_err());
        assert!(decode_legacy("tandem1!!!").is_err());
        assert!(decode_legacy(&code[..code.len() - 3]).is_err());
    }

    #[test]
    fn links_name_their_relay_and_code() {
        assert_eq!(
            parse_link("https://relay.example/j/ABCD-EFGH-JKMN"),
            Some(("wss://relay.example".into(), "ABCD-EFGH-JKMN".into()))
        );
        assert_eq!(
            parse_link("http://127.0.0.1:3030/j/ABCD"),
            Some(("ws://127.0.0.1:3030".into(), "ABCD".into()))
        );
        assert_eq!(parse_link("ABCD-EFGH-JKMN"), None);
        assert_eq!(parse_link("https://relay.example/x/ABCD"), None);
    }

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("7d"), Ok(7 * 86_400));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("2w"), Ok(14 * 86_400));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3y").is_err());
    }
}
