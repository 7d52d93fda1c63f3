"""Load the control catalogues: EU AI Act, NIST AI RMF 1.0, ISO/IEC 42001 Annex A, OMB M-25-21.

Identifiers follow the sources so that people can look them up; titles and descriptions are short
paraphrases in our own words, not the standards' text. Applicability (tiers, high-impact only) is
our default and can be changed by admins; a later catalogue change gets a new migration.
"""

from django.db import migrations

ALL_TIERS = ["prohibited", "high", "limited", "minimal"]
HIGH = ["high"]
HIGH_LIMITED = ["high", "limited"]
NOT_PROHIBITED = ["high", "limited", "minimal"]

FRAMEWORKS = [
    {
        "code": "eu-ai-act",
        "name": "EU AI Act",
        "version": "Regulation (EU) 2024/1689",
        "url": "https://eur-lex.europa.eu/eli/reg/2024/1689/oj",
        "description": (
            "Obligations for high-risk AI systems (providers and deployers), transparency duties "
            "for limited-risk systems, AI literacy for everyone, and the stop for prohibited "
            "practices."
        ),
    },
    {
        "code": "nist-ai-rmf",
        "name": "NIST AI Risk Management Framework",
        "version": "1.0 (NIST AI 100-1)",
        "url": "https://doi.org/10.6028/NIST.AI.100-1",
        "description": (
            "Voluntary framework in four functions (Govern, Map, Measure, Manage), their "
            "categories and 72 subcategories; titles here are our own short summaries."
        ),
    },
    {
        "code": "iso-42001",
        "name": "ISO/IEC 42001 Annex A",
        "version": "2023",
        "url": "https://www.iso.org/standard/81230.html",
        "description": (
            "Reference controls of an AI management system (Annex A, A.2 to A.10, 38 controls); "
            "titles here are our own short summaries."
        ),
    },
    {
        "code": "omb-m-25-21",
        "name": "OMB M-25-21 minimum practices",
        "version": "April 2025",
        "url": "https://www.whitehouse.gov/wp-content/uploads/2025/02/M-25-21-Accelerating-Federal-Use-of-AI-through-Innovation-Governance-and-Public-Trust.pdf",
        "description": (
            "Minimum risk management practices US federal agencies apply to high-impact AI."
        ),
    },
]

# (identifier, title, description, tiers, high_impact_only)
EU_AI_ACT = [
    ("Art. 4", "Staff have enough AI literacy for their role with the system",
     "People who build, run or use the system understand what it does and where it can fail.",
     NOT_PROHIBITED, False),
    ("Art. 5", "The prohibited practice is stopped or never started",
     "A prohibited system is not put into service; if it runs, it is switched off and withdrawn.",
     ["prohibited"], False),
    ("Art. 9", "A risk management system runs through the whole life cycle",
     "Known and foreseeable risks are identified, estimated, treated and tested, and revisited.",
     HIGH, False),
    ("Art. 10", "Training, validation and test data are governed",
     "Data are relevant, representative, checked for errors and examined for possible bias.",
     HIGH, False),
    ("Art. 11", "Technical documentation is drawn up and kept current",
     "Documentation shows how the system meets the requirements, before it is placed in service.",
     HIGH, False),
    ("Art. 12", "Events are logged automatically",
     "The system keeps logs that make its functioning traceable over its lifetime.",
     HIGH, False),
    ("Art. 13", "Deployers get clear instructions for use",
     "Instructions explain purpose, accuracy, limits, risks, oversight measures and maintenance.",
     HIGH, False),
    ("Art. 14", "People can oversee the system effectively",
     "Overseers understand its limits, can interpret outputs, override them and stop the system.",
     HIGH, False),
    ("Art. 15", "Accuracy, robustness and cybersecurity are adequate",
     "Declared accuracy levels are met; the system resists errors, faults and attacks.",
     HIGH, False),
    ("Art. 17", "A quality management system is in place",
     "Written policies and procedures cover design, testing, data, risk, monitoring and incidents.",
     HIGH, False),
    ("Art. 26", "The deployer uses it as instructed and keeps watch",
     "Competent people oversee it, input data fit the purpose, logs are kept, workers are told.",
     HIGH, False),
    ("Art. 27", "A fundamental rights impact assessment is done before first use",
     "Required of public bodies and public-service providers (and for credit scoring and "
     "insurance pricing); others mark it not applicable with the reason.",
     HIGH, False),
    ("Art. 43", "A conformity assessment is passed before use",
     "The applicable conformity procedure is completed and documented.",
     HIGH, False),
    ("Art. 49", "The system is registered in the EU database",
     "Registration happens before the system is placed on the market or put into service.",
     HIGH, False),
    ("Art. 50(1)", "People are told they are dealing with an AI system",
     "Unless it is obvious from the context.", HIGH_LIMITED, False),
    ("Art. 50(2)", "Synthetic output is marked as AI-generated, machine-readably",
     "Audio, image, video and text output carries a detectable marking.", HIGH_LIMITED, False),
    ("Art. 50(3)", "People exposed to emotion recognition or biometric categorisation are told",
     "And their personal data are handled under data protection law.", HIGH_LIMITED, False),
    ("Art. 50(4)", "Deep fakes and AI-written public-interest text are disclosed",
     "Content that looks real or informs the public says it was generated or manipulated.",
     HIGH_LIMITED, False),
    ("Art. 72", "Post-market monitoring runs to a plan",
     "Performance data from use are collected and analysed to confirm continued compliance.",
     HIGH, False),
    ("Art. 73", "Serious incidents are reported to the authorities in time",
     "Incidents are investigated and reported within the legal deadlines.",
     HIGH, False),
]

NIST_CATEGORIES = {
    "GOVERN 1": "Policies, processes and practices for AI risk are in place, open and applied.",
    "GOVERN 2": "Accountability: the right people are responsible, trained and empowered.",
    "GOVERN 3": "Diverse, inclusive teams shape risk decisions across the life cycle.",
    "GOVERN 4": "Teams are committed to a culture that weighs and shares AI risk.",
    "GOVERN 5": "The organisation engages with people and groups outside the team.",
    "GOVERN 6": "Risks from third-party software, data and supply chains are handled.",
    "MAP 1": "The context of use is established and understood.",
    "MAP 2": "The AI system is categorised.",
    "MAP 3": "Capabilities, intended use, goals, benefits and costs are understood.",
    "MAP 4": "Risks and benefits are mapped for every component, third-party ones included.",
    "MAP 5": "Impacts on people, groups, organisations and society are characterised.",
    "MEASURE 1": "Suitable methods and metrics are chosen and applied.",
    "MEASURE 2": "The system is evaluated for trustworthy characteristics.",
    "MEASURE 3": "Identified risks are tracked over time.",
    "MEASURE 4": "Feedback on how well measurement works is gathered and assessed.",
    "MANAGE 1": "Risks are prioritised and responded to, based on the assessments.",
    "MANAGE 2": "Ways to maximise benefit and minimise harm are planned and carried out.",
    "MANAGE 3": "Risks and benefits from third parties are managed.",
    "MANAGE 4": "Treatments, response, recovery and communication are documented and monitored.",
}

NIST_AI_RMF = [
    ("GOVERN 1.1", "Know and track the legal and regulatory duties that apply to AI"),
    ("GOVERN 1.2", "Build the traits of trustworthy AI into policies and practices"),
    ("GOVERN 1.3", "Scale risk management effort to the organisation's risk tolerance"),
    ("GOVERN 1.4", "Set out risk management in transparent policies and controls"),
    ("GOVERN 1.5", "Plan monitoring and periodic review of the risk management process"),
    ("GOVERN 1.6", "Keep an inventory of AI systems"),
    ("GOVERN 1.7", "Decommission and phase out AI systems safely"),
    ("GOVERN 2.1", "Document roles, responsibilities and reporting lines for AI risk"),
    ("GOVERN 2.2", "Train staff and partners in AI risk management"),
    ("GOVERN 2.3", "Senior leaders take responsibility for AI risk decisions"),
    ("GOVERN 3.1", "Have diverse teams inform AI risk decisions"),
    ("GOVERN 3.2", "Define roles and responsibilities for human oversight"),
    ("GOVERN 4.1", "Foster critical thinking and a safety-first mindset"),
    ("GOVERN 4.2", "Teams record and share the risks and impacts of what they build"),
    ("GOVERN 4.3", "Enable testing, incident finding and information sharing"),
    ("GOVERN 5.1", "Collect and act on feedback from people outside the team"),
    ("GOVERN 5.2", "Feed evaluated feedback back into system design"),
    ("GOVERN 6.1", "Cover third-party risks, including intellectual property, in policy"),
    ("GOVERN 6.2", "Have contingency plans for failing third-party data or AI"),
    ("MAP 1.1", "Document intended purpose, setting, users and applicable norms"),
    ("MAP 1.2", "Set the context with an interdisciplinary, diverse group"),
    ("MAP 1.3", "Record how the system serves the organisation's mission and goals"),
    ("MAP 1.4", "Define, and revisit, the business value"),
    ("MAP 1.5", "Record the organisation's risk tolerance for the system"),
    ("MAP 1.6", "Gather system requirements with their social and technical effects"),
    ("MAP 2.1", "Define the tasks and the methods that carry them out"),
    ("MAP 2.2", "Document knowledge limits and how people use and oversee outputs"),
    ("MAP 2.3", "Record scientific-integrity and test-design considerations"),
    ("MAP 3.1", "Examine and record expected benefits"),
    ("MAP 3.2", "Examine the costs of errors, including non-monetary ones"),
    ("MAP 3.3", "Specify and document the targeted application scope"),
    ("MAP 3.4", "Define and check the proficiency operators need"),
    ("MAP 3.5", "Define and document human oversight processes"),
    ("MAP 4.1", "Map technical and legal risks of every component, third-party included"),
    ("MAP 4.2", "Identify and document internal controls for each component"),
    ("MAP 5.1", "Estimate the likelihood and size of each identified impact"),
    ("MAP 5.2", "Engage regularly with affected parties about impacts"),
    ("MEASURE 1.1", "Pick metrics for the most significant risks; note what cannot be measured"),
    ("MEASURE 1.2", "Reassess metrics and the effectiveness of controls regularly"),
    ("MEASURE 1.3", "Involve independent assessors and affected parties in assessments"),
    ("MEASURE 2.1", "Document test sets, metrics and tools used in evaluation"),
    ("MEASURE 2.2", "Protect human subjects and use representative samples in evaluations"),
    ("MEASURE 2.3", "Measure performance under conditions like the deployment setting"),
    ("MEASURE 2.4", "Monitor behaviour and functioning in production"),
    ("MEASURE 2.5", "Show the system is valid and reliable; record limits of generalisation"),
    ("MEASURE 2.6", "Evaluate safety regularly and show the system can fail safely"),
    ("MEASURE 2.7", "Evaluate and document security and resilience"),
    ("MEASURE 2.8", "Examine transparency and accountability risks"),
    ("MEASURE 2.9", "Explain the model and interpret outputs in their context"),
    ("MEASURE 2.10", "Examine and document privacy risk"),
    ("MEASURE 2.11", "Evaluate fairness and bias and document the results"),
    ("MEASURE 2.12", "Assess the environmental impact of training and running the model"),
    ("MEASURE 2.13", "Evaluate how well the evaluation methods themselves work"),
    ("MEASURE 3.1", "Track existing, unexpected and emerging risks over time"),
    ("MEASURE 3.2", "Plan tracking for risks that are hard to measure"),
    ("MEASURE 3.3", "Let users and affected people report problems and appeal outcomes"),
    ("MEASURE 4.1", "Design context-specific measurement with domain experts and users"),
    ("MEASURE 4.2", "Validate trustworthiness results with experts across the life cycle"),
    ("MEASURE 4.3", "Record measured improvements or declines in performance"),
    ("MANAGE 1.1", "Decide whether the system meets its purpose and should go ahead"),
    ("MANAGE 1.2", "Prioritise the treatment of documented risks"),
    ("MANAGE 1.3", "Plan and document responses to high-priority risks"),
    ("MANAGE 1.4", "Document residual risks for downstream buyers and end users"),
    ("MANAGE 2.1", "Weigh the resources needed and non-AI alternatives"),
    ("MANAGE 2.2", "Keep the value of deployed systems up"),
    ("MANAGE 2.3", "Respond to and recover from newly found risks"),
    ("MANAGE 2.4", "Be able to override, disengage or switch off a misbehaving system"),
    ("MANAGE 3.1", "Monitor third-party risks and benefits and apply controls"),
    ("MANAGE 3.2", "Monitor pre-trained models as part of regular maintenance"),
    ("MANAGE 4.1", "Run post-deployment monitoring, including appeal, override and change control"),
    ("MANAGE 4.2", "Build continual improvement into system updates"),
    ("MANAGE 4.3", "Communicate, track and recover from incidents and errors"),
]

ISO_CLAUSES = {
    "A.2": "Policies related to AI",
    "A.3": "Internal organisation",
    "A.4": "Resources for AI systems",
    "A.5": "Assessing the impacts of AI systems",
    "A.6": "AI system life cycle",
    "A.7": "Data for AI systems",
    "A.8": "Information for interested parties",
    "A.9": "Use of AI systems",
    "A.10": "Third-party and customer relationships",
}

ISO_42001 = [
    ("A.2.2", "A written AI policy exists"),
    ("A.2.3", "The AI policy fits the organisation's other policies"),
    ("A.2.4", "The AI policy is reviewed at planned intervals"),
    ("A.3.2", "Roles and responsibilities for AI are assigned"),
    ("A.3.3", "People have a way to raise concerns about AI"),
    ("A.4.2", "Resources the system needs are documented"),
    ("A.4.3", "Data resources are documented"),
    ("A.4.4", "Tooling resources are documented"),
    ("A.4.5", "System and computing resources are documented"),
    ("A.4.6", "People and skills needed are documented"),
    ("A.5.2", "There is a process for assessing the system's impacts"),
    ("A.5.3", "Impact assessments are documented and kept"),
    ("A.5.4", "Impacts on individuals and groups are assessed"),
    ("A.5.5", "Impacts on society are assessed"),
    ("A.6.1.2", "Objectives for responsible development are set"),
    ("A.6.1.3", "Design and development follow a responsible process"),
    ("A.6.2.2", "Requirements and specification are recorded"),
    ("A.6.2.3", "Design and development are documented"),
    ("A.6.2.4", "The system is verified and validated"),
    ("A.6.2.5", "Deployment is planned"),
    ("A.6.2.6", "Operation and monitoring are planned and done"),
    ("A.6.2.7", "Technical documentation is available to those who need it"),
    ("A.6.2.8", "Event logs are recorded"),
    ("A.7.2", "Data for development and enhancement are managed"),
    ("A.7.3", "How data are acquired is recorded"),
    ("A.7.4", "Data quality requirements are set and met"),
    ("A.7.5", "Data provenance is recorded"),
    ("A.7.6", "Data preparation is defined and documented"),
    ("A.8.2", "Users get the documentation and information they need"),
    ("A.8.3", "Interested parties can report adverse impacts"),
    ("A.8.4", "Incidents are communicated to those concerned"),
    ("A.8.5", "Obligations to inform interested parties are met"),
    ("A.9.2", "There is a process for responsible use"),
    ("A.9.3", "Objectives for responsible use are set"),
    ("A.9.4", "The system is used as intended"),
    ("A.10.2", "Responsibilities are shared out with partners and suppliers"),
    ("A.10.3", "Suppliers meet the organisation's approach to responsible AI"),
    ("A.10.4", "Customers' expectations and needs are considered"),
]

OMB_M_25_21 = [
    ("OMB-1", "Test the system before deployment in conditions like real use",
     "Pre-deployment testing shows it works as intended and how it fails."),
    ("OMB-2", "Complete and keep up an AI impact assessment",
     "Purpose, data quality, risks, benefits, costs and the affected people are written down."),
    ("OMB-3", "Have testing and the impact assessment reviewed independently",
     "Someone not involved in development reviews the results before deployment."),
    ("OMB-4", "Monitor performance and adverse impacts once deployed",
     "Ongoing monitoring catches drift, errors and harm; issues are acted on."),
    ("OMB-5", "Train and assess the people who operate the system",
     "Operators know how to interpret and act on outputs and when to escalate."),
    ("OMB-6", "Keep human oversight and a fail-safe",
     "A person is accountable, can intervene, and the system can be stopped safely."),
    ("OMB-7", "Offer remedies and appeal to people affected",
     "People can get a timely human review and challenge decisions that affect them."),
    ("OMB-8", "Collect and use feedback from end users and the public",
     "Feedback is sought, considered and used to improve the system."),
]


def _category(identifier, categories):
    head = identifier.split(".")[0]
    return categories.get(head, "")


def _iso_clause(identifier):
    return ISO_CLAUSES[".".join(identifier.split(".")[:2])]


def _controls():
    yield "eu-ai-act", [
        (ident, title, description, tiers, hi) for ident, title, description, tiers, hi in EU_AI_ACT
    ]
    yield "nist-ai-rmf", [
        (ident, title, _category(ident, NIST_CATEGORIES), HIGH_LIMITED, False)
        for ident, title in NIST_AI_RMF
    ]
    yield "iso-42001", [
        (ident, title, _iso_clause(ident), HIGH_LIMITED, False) for ident, title in ISO_42001
    ]
    yield "omb-m-25-21", [
        (ident, title, description, ALL_TIERS, True) for ident, title, description in OMB_M_25_21
    ]


def load(apps, schema_editor):
    Framework = apps.get_model("governance", "Framework")
    Control = apps.get_model("governance", "Control")
    for position, data in enumerate(FRAMEWORKS, start=1):
        Framework.objects.update_or_create(
            code=data["code"], defaults={**data, "position": position}
        )
    for code, controls in _controls():
        framework = Framework.objects.get(code=code)
        for position, (ident, title, description, tiers, hi) in enumerate(controls, start=1):
            Control.objects.update_or_create(
                framework=framework,
                identifier=ident,
                defaults={
                    "title": title,
                    "description": description,
                    "applies_to_tiers": list(tiers),
                    "high_impact_only": hi,
                    "position": position,
                },
            )


def unload(apps, schema_editor):
    Framework = apps.get_model("governance", "Framework")
    Framework.objects.filter(code__in=[f["code"] for f in FRAMEWORKS]).delete()


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
