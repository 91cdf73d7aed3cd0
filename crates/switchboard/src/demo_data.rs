//! What `switchboard demo` fills its workspace with: Lakeside College (seed 000's college,
//! whose marketing team drowned in general questions), its teams, playbook, knowledge base,
//! and the messages its live traffic is made of. All written for this project.

/// The people of the demo, all with the password [`PASSWORD`]: (username, name, role, teams).
pub const PEOPLE: &[(&str, &str, &str, &[&str])] = &[
    ("ada", "Ada Front", "agent", &["front-desk"]),
    ("sam", "Sam Support", "agent", &["support"]),
    ("lee", "Lee Sales", "agent", &["sales"]),
    ("pat", "Pat PR", "agent", &["pr"]),
    ("rita", "Rita Legal", "reviewer", &["legal"]),
    (
        "sue",
        "Sue Supervisor",
        "supervisor",
        &["front-desk", "support", "sales", "pr"],
    ),
];

pub const PASSWORD: &str = "switchboard-demo";

/// The outside expert agents can ask (their mail goes nowhere in the demo; the link is
/// shown to the agent instead).
pub const EXPERT: (&str, &str) = ("finaid.officer@lakeside.example", "Dr. Finn Aid");

pub const PLAYBOOK: &str = r#"# Lakeside College: every message to the team that owns its purpose.

[[team]]
id = "front-desk"
name = "Front desk"
strategy = "least_loaded"
overflow = "support"
[team.hours]
timezone = "UTC"
mon = "00:00-24:00"
tue = "00:00-24:00"
wed = "00:00-24:00"
thu = "00:00-24:00"
fri = "00:00-24:00"
sat = "00:00-24:00"
sun = "00:00-24:00"

[[team]]
id = "support"
name = "Support"
strategy = "round_robin"

[[team]]
id = "sales"
name = "Sales"
strategy = "round_robin"

[[team]]
id = "pr"
name = "Marketing & PR"

[[team]]
id = "legal"
name = "Legal"

[[sla]]
name = "Crisis: acknowledge within 2 minutes"
purpose = "crisis"
first_response = "2m"
warn_before = "1m"
on_breach = ["raise_priority", "notify_supervisor"]

[[sla]]
name = "Leads: answer within 5 minutes"
purpose = "sales"
first_response = "5m"
warn_before = "2m"
on_breach = ["notify_supervisor"]

[[sla]]
name = "Everyone else: within 10 minutes"
first_response = "10m"
warn_before = "3m"
resolution = "2h"

[csat]
question = "Thanks for getting in touch with Lakeside College! How did we do? Reply with a number from 1 (poor) to 5 (great)."

[[approval]]
reviewers = "legal"
team = "pr"
public = true

[[rule]]
name = "A public crisis goes to PR, urgent, with Legal reviewing"
when.text_any = ["data breach", "lawsuit", "boycott", "outage", "hacked", "scandal", "unsafe"]
then.purpose = "crisis"
then.team = "pr"
then.priority = "urgent"
then.escalate = true

[[rule]]
name = "Angry messages go straight to Support"
when.sentiment_any = ["negative"]
when.purpose_any = ["support", "tier1"]
then.purpose = "support"
then.team = "support"
then.priority = "high"

[[rule]]
name = "Enrolment and pricing leads go to Sales"
when.text_any = ["tuition", "enrol", "enroll", "apply", "application", "price", "pricing", "group booking", "corporate", "scholarship"]
then.purpose = "sales"
then.team = "sales"
then.tags = ["lead"]

[[rule]]
name = "Praise and press go to Marketing & PR"
when.purpose_any = ["marketing_pr"]
then.team = "pr"

[[rule]]
name = "General questions: the front desk, answered automatically when sure"
when.purpose_any = ["tier1"]
then.team = "front-desk"
then.auto_answer = { min_confidence = 0.35 }

[[rule]]
name = "Everything else starts at the front desk"
then.team = "front-desk"
"#;

/// Knowledge-base entries, as the import takes them (JSON lines).
pub const KB: &[&str] = &[
    r#"{"type": "article", "title": "What time does the game start?", "body": "Saturday's home game against Riverside starts at 2 pm at Lakeside Stadium; gates open at 12:30.", "tags": ["athletics"], "language": "en", "purpose": "tier1"}"#,
    r#"{"type": "article", "title": "Where can I park on campus?", "body": "Visitors park in lots B and C, free after 5 pm and at weekends. Students need a permit from the campus office.", "tags": ["campus"], "language": "en", "purpose": "tier1"}"#,
    r#"{"type": "article", "title": "When is the library open?", "body": "The library is open 8 am to midnight on weekdays and 10 am to 8 pm at weekends.", "tags": ["campus"], "language": "en", "purpose": "tier1"}"#,
    r#"{"type": "article", "title": "How do I reset my student portal password?", "body": "Go to portal.lakeside.example, choose Forgot password and follow the e-mail. The link is valid for one hour.", "tags": ["it"], "language": "en", "purpose": "support"}"#,
    r#"{"type": "article", "title": "When are the application deadlines?", "body": "Applications for the autumn term close on 15 January; late applications are read until 1 March if places remain.", "tags": ["admissions"], "language": "en", "purpose": "sales"}"#,
    r#"{"type": "article", "title": "How much is tuition?", "body": "Tuition is 9,250 a year for full-time undergraduates. Scholarships and payment plans are available.", "tags": ["admissions"], "language": "en", "purpose": "sales"}"#,
    r#"{"type": "article", "title": "Campus tours", "body": "Free campus tours run every weekday at 11 am and 3 pm from the visitor centre. No booking needed.", "tags": ["campus"], "language": "en", "purpose": "tier1"}"#,
    r#"{"type": "article", "title": "Internal: how to escalate a safety concern", "body": "Call campus security first, then hand the case to Marketing & PR with the priority set to urgent.", "tags": ["internal"], "language": "en", "public": false, "purpose": "crisis"}"#,
    r#"{"type": "canned", "name": "Thanks for the kind words", "text": "Thank you so much, {{contact.name}}! We have shared this with the team."}"#,
    r#"{"type": "canned", "name": "Sorry, looking into it", "text": "Sorry about this, {{contact.name}}. We are looking into it now and will come back to you today."}"#,
    r#"{"type": "canned", "name": "Passing to admissions", "text": "Good question! Our admissions team will answer you shortly."}"#,
];

/// One kind of inbound message the traffic generator sends.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub text: &'static str,
    /// Only on public channels (a mention or comment).
    pub public_only: bool,
    /// The title of the knowledge-base article that answers it, if one does: what
    /// `bench deflection` judges an automatic answer by. `None`: no article answers it, so
    /// any automatic answer is wrong.
    pub answer: Option<&'static str>,
}

const fn s(text: &'static str) -> Sample {
    Sample {
        text,
        public_only: false,
        answer: None,
    }
}

/// A question the article titled `answer` answers.
const fn q(text: &'static str, answer: &'static str) -> Sample {
    Sample {
        text,
        public_only: false,
        answer: Some(answer),
    }
}

const GAME: &str = "What time does the game start?";
const PARKING: &str = "Where can I park on campus?";
const LIBRARY: &str = "When is the library open?";
const PASSWORD_RESET: &str = "How do I reset my student portal password?";
const TOURS: &str = "Campus tours";

/// General questions: most have an article, some (the last ones) have none and must be left
/// to a person.
pub const QUESTIONS: &[Sample] = &[
    q("What time does the game start on Saturday?", GAME),
    q("what time does the game start", GAME),
    q("When do the gates open for Saturday's home game?", GAME),
    q(
        "What time is kick-off against Riverside this weekend?",
        GAME,
    ),
    q("Hi! Where can visitors park on campus?", PARKING),
    q("Is parking free at the weekend?", PARKING),
    q("Where do I leave my car when I visit the college?", PARKING),
    q("When is the library open at the weekend?", LIBRARY),
    q("Is the library open late during exams?", LIBRARY),
    q("What are the library opening hours?", LIBRARY),
    q("library hours on sunday?", LIBRARY),
    q("Do you run campus tours? When?", TOURS),
    q(
        "Can I just turn up for a campus tour or do I need to book?",
        TOURS,
    ),
    q("What times are the tours of the campus?", TOURS),
    q("How do I reset my student portal password?", PASSWORD_RESET),
    q(
        "Forgot my portal password, how do I get a new one?",
        PASSWORD_RESET,
    ),
    s("Is the canteen open on Sundays?"),
    s("Can I bring my dog on campus?"),
    s("Where is the lost and found office?"),
    s("Do students get a discount at the gym?"),
    s("Which bus goes from the train station to the college?"),
];

pub const COMPLAINTS: &[Sample] = &[
    s(
        "I have been locked out of the student portal for three days and nobody answers. This is terrible.",
    ),
    s("The wifi in the dorms is down AGAIN. Useless."),
    s("My refund still has not arrived after six weeks. Very disappointed."),
    s("Parking fine for parking in a visitor lot?? Ridiculous, the signs are wrong."),
];

pub const LEADS: &[Sample] = &[
    s("How much is tuition for international students?"),
    q(
        "I'd like to apply for the autumn term, what is the deadline?",
        "When are the application deadlines?",
    ),
    s("We're a company looking for corporate training for 40 staff, what's the pricing?"),
    s("Are there scholarships for mature students? I want to enrol next year."),
    s("Group booking for a school visit of 60 pupils, who do I talk to?"),
];

pub const PRAISE: &[Sample] = &[
    s("Just graduated from Lakeside and I loved every minute. Thank you all!"),
    s("Amazing open day today, the staff were so helpful 😍"),
    s("Great win for the Lakeside team last night, what a game!"),
];

/// A post that only makes sense in public (a mention or comment).
const fn public(text: &'static str) -> Sample {
    Sample {
        text,
        public_only: true,
        answer: None,
    }
}

pub const CRISIS: &[Sample] = &[
    public("Is it true Lakeside had a data breach? My details were in an email from a stranger."),
    public("Students are saying the science building is unsafe after the fire. Why no statement?"),
    public("Heard about the data breach at Lakeside. Are you going to tell us anything?"),
];

pub const FIRST_NAMES: &[&str] = &[
    "Alex", "Bea", "Carlos", "Dana", "Eli", "Fatima", "George", "Hana", "Ivan", "Jade", "Kofi",
    "Lina", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Tom", "Uma", "Vik", "Wen",
];
