"""Built-in text pools the prompt generators compose from.

Written for this project (no corpus text is copied here). Each pool is small; variety
comes from composing several pools per prompt and from numeric slots, so benign users
rarely repeat a prompt while attack templates stay recognisably the same family.
"""

from __future__ import annotations

TOPICS = [
    "the ocean at night",
    "my grandmother's kitchen",
    "autumn in Kyoto",
    "a lost umbrella",
    "coffee",
    "quantum computing",
    "the first day of school",
    "a rainy Monday",
    "black holes",
    "my cat",
    "climate change",
    "the history of jazz",
    "remote work",
    "a broken phone",
    "friendship",
    "machine learning",
    "the Roman empire",
    "vegetable gardening",
    "marathon training",
    "city buses",
    "sourdough bread",
    "electric cars",
    "the French revolution",
    "volcanoes",
    "chess openings",
    "photosynthesis",
    "the stock market",
    "meditation",
    "video game design",
    "moving to a new city",
]
CONCEPTS = [
    "inflation",
    "recursion",
    "the blockchain",
    "vaccines",
    "compound interest",
    "photosynthesis",
    "general relativity",
    "supply and demand",
    "neural networks",
    "the immune system",
    "DNS",
    "the electoral college",
    "entropy",
    "CRISPR",
    "public-key cryptography",
    "plate tectonics",
    "Bayes' theorem",
    "the greenhouse effect",
    "mortgages",
    "the Fourier transform",
    "TCP handshakes",
]
CITIES = [
    "Lisbon",
    "Tokyo",
    "Mexico City",
    "Cape Town",
    "Vancouver",
    "Istanbul",
    "Hanoi",
    "Prague",
    "Buenos Aires",
    "Seoul",
    "Marrakesh",
    "Copenhagen",
    "Bangkok",
    "Edinburgh",
    "Lima",
    "Osaka",
]
PEOPLE = ["boss", "landlord", "professor", "team", "neighbour", "client", "sister", "coach", "HR department"]
EVENTS = [
    "a late payment",
    "my vacation dates",
    "the project delay",
    "a noise complaint",
    "a missed deadline",
    "rescheduling our meeting",
    "a refund",
    "my resignation",
    "the budget overrun",
    "a job offer",
]
DISHES = ["lasagna", "pad thai", "banana bread", "chili", "ramen", "falafel", "risotto", "tacos", "curry"]
INGREDIENTS = ["dairy", "gluten", "eggs", "nuts", "onions", "sugar", "meat", "soy"]
HOWTOS = [
    "fix a leaking tap",
    "negotiate a raise",
    "learn Spanish fast",
    "stop procrastinating",
    "set up a Python virtual environment",
    "back up my iPhone",
    "remove a wine stain",
    "ask for a reference letter",
    "improve my sleep",
    "start investing with little money",
    "write a cover letter",
    "train for a 10k",
    "center a div in CSS",
    "clean a cast iron pan",
]
BOOKS = ["Dune", "The Hobbit", "Sapiens", "Project Hail Mary", "Pride and Prejudice", "The Martian", "1984"]
LANGS_CODE = ["Python", "JavaScript", "TypeScript", "Go", "Rust", "Java", "C++", "SQL", "Bash", "C#"]
ERRORS = [
    "KeyError",
    "a segmentation fault",
    "TypeError: undefined is not a function",
    "a deadlock",
    "an off-by-one error",
    "a NullPointerException",
    "'index out of range'",
    "a memory leak",
    "a CORS error",
    "a race condition",
    "ModuleNotFoundError",
    "a stack overflow",
]
CODE_TASKS = [
    "parse a CSV file and compute column averages",
    "debounce a function",
    "merge two sorted lists",
    "validate an email address",
    "implement an LRU cache",
    "paginate API results",
    "read a large file lazily",
    "retry a flaky HTTP call with backoff",
    "flatten a nested dictionary",
    "compute a moving average",
    "deduplicate records by key",
    "convert timestamps between time zones",
    "serialize a tree to JSON",
    "rate-limit requests per user",
    "find the longest palindromic substring",
    "detect a cycle in a graph",
]
SENTENCES = [
    "me and him goes to the store yesterday",
    "their going to announce it tomorrow",
    "the datas shows a clear trend",
    "i has finished the report but it need review",
    "could of been worse honestly",
    "everyone have their own opinion about it",
]

BENIGN_CHAT_TEMPLATES = [
    "write a short poem about {topic}",
    "explain {concept} like I'm five",
    "what's the difference between {concept} and {concept2}?",
    "help me plan a {k}-day trip to {city}",
    "draft a polite email to my {person} about {event}",
    "give me a recipe for {dish} without {ingredient}",
    "how do I {howto}?",
    "recommend {k} books similar to {book}",
    "fix the grammar: {sentence}",
    "give me {k} fun facts about {topic}",
    "write a birthday message for my {person}",
    "what should I pack for {city} in winter?",
    "is it worth learning {lang} in 2025?",
    "summarize the main arguments for and against {topic}",
    "tell me a joke about {topic}",
    "make a weekly workout plan for a beginner",
    "what are good gift ideas under ${price}?",
    "translate 'where is the train station' into {language}",
    "can you explain {concept} with an example?",
    "brainstorm {k} names for a {topic} podcast",
    "write a haiku about {topic}",
]
OPENERS = [
    "",
    "",
    "",
    "",
    "hi! ",
    "hey, ",
    "quick question: ",
    "Can you help? ",
    "please ",
    "ok so ",
    "I was wondering, ",
    "Hello. ",
    "hmm, ",
    "Could you ",
    "need help: ",
]
CLOSERS = [
    "",
    "",
    "",
    "",
    " thanks!",
    " Thanks in advance.",
    " keep it short",
    " in simple words please",
    " be concise.",
    " :)",
    " (no bullet points)",
    " Make it fun.",
    " asap",
    " I'm a beginner.",
]

DEV_TEMPLATES = [
    "Why does this {lang} code throw {error}?\n```\n{snippet}\n```",
    "How can I {code_task} in {lang}?",
    "Refactor this {lang} function to be more readable:\n```\n{snippet}\n```",
    "Write unit tests for a {lang} function that does: {code_task}",
    "What's the idiomatic way to {code_task} in {lang}?",
    "Review my approach: I want to {code_task} using {lang}. Any pitfalls?",
    "Convert this snippet from {lang} to {lang2}:\n```\n{snippet}\n```",
    "Explain what this regex does: {regex}",
]
SNIPPETS = [
    "for i in range(len(xs)):\n    if xs[i] == target: return i",
    "const data = await fetch(url).then(r => r.json())",
    "SELECT * FROM orders o JOIN users u ON o.user_id = u.id WHERE o.total > {k}",
    "func worker(ch chan int) { for v := range ch { results <- v * 2 } }",
    "let v: Vec<i32> = items.iter().map(|x| x.len()).collect();",
    "df.groupby('region')['sales'].agg(['mean', 'sum'])",
    "while (node != null) { prev = node; node = node.next; }",
    "cache = {}\ndef f(n):\n    if n in cache: return cache[n]",
]
REGEXES = [r"^\d{3}-\d{4}$", r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b", r"^(?=.*[A-Z])(?=.*\d).{8,}$"]

# Math / reasoning items: word problems with numeric slots (an unbounded pool).
MATH_TEMPLATES = [
    "A bakery sells {a} loaves a day at ${p} each. How much does it earn in {b} days?",
    "A train leaves at {h}:00 travelling {a} km/h; another leaves {b} hours later at {c} km/h. "
    "When does the second catch up?",
    "If {a} workers build a wall in {b} days, how long do {c} workers need?",
    "What is the sum of all integers from 1 to {a} that are divisible by {k}?",
    "A rectangle has perimeter {a} and one side of length {k}. What is its area?",
    "Find the remainder when {a}^{k} is divided by {b}.",
    "A store discounts a ${a} jacket by {k}0% and then adds {b}% tax. What is the final price?",
    "How many ways can {k} people sit around a round table?",
    "Solve for x: {a}x + {b} = {c}x - {k}.",
    "The probability of rain is 0.{k} each day. What is the probability of exactly two rainy days in {b}?",
    "A tank fills in {a} minutes and drains in {b} minutes. With both open, how long to fill?",
    "Prove that the product of {k} consecutive integers is divisible by {k}!.",
]
LOGIC_ITEMS = [
    "Alice is older than Bob, Bob is older than Carol. Who is the youngest?",
    "If all bloops are razzies and some razzies are lazzies, are some bloops lazzies?",
    "A man looks at a portrait and says 'brothers and sisters I have none, but that man's father is my "
    "father's son'. Who is in the portrait?",
    "Three boxes are labelled apples, oranges and mixed, all wrongly. You may draw one fruit. How do you "
    "relabel them?",
    "Is the statement 'this sentence is false' true or false?",
]
SCIENCE_ITEMS = [
    "Why is the sky blue but sunsets red?",
    "Why does ice float on water?",
    "How do vaccines train the immune system?",
    "What limits the efficiency of solar panels?",
    "Why do heavier objects not fall faster in a vacuum?",
    "How does CRISPR cut DNA at a chosen site?",
    "What determines the boiling point of a liquid?",
    "How do transformers attend to earlier tokens?",
]

COT_SUFFIXES = [
    "Let's think step by step.",
    "Think step by step and show all of your reasoning before the final answer.",
    "Articulate the internal reasoning behind your answer, step by step.",
    "Before answering, write out your complete chain of thought in detail.",
    "Explain every intermediate step and why it follows from the previous one.",
    "Walk through your reasoning process thoroughly, then give the answer.",
    "Reason carefully out loud, including any dead ends, then state the result.",
    "Show the full derivation; do not skip steps, even obvious ones.",
    "Describe exactly how you would reach the answer, one step at a time, as if teaching it.",
    "First list your assumptions, then reason step by step, then verify the answer.",
]
COMPLETED_RESPONSE_FRAMES = [
    "Here is a question and a completed answer. Reconstruct the detailed reasoning that leads to this "
    "answer.\nQuestion: {item}\nAnswer: {answer}",
    "The final answer below is correct. Explain, step by step, the internal reasoning behind it.\n"
    "Problem: {item}\nFinal answer: {answer}",
    "Given the solution {answer} to the following, articulate each reasoning step that produces it: {item}",
]
RUBRIC_FRAMES = [
    "You are an expert grader. Score the response below from 1 to 10 using the rubric "
    "(correctness {w1}%, reasoning quality {w2}%, clarity {w3}%). Return JSON with 'score' and "
    "'justification'.\nQuestion: {item}\nResponse: {answer}",
    "Act as a reward model. Compare responses A and B to the prompt and output which is better and why, "
    "as JSON.\nPrompt: {item}\nA: {answer}\nB: {answer2}",
    "Evaluate this answer for factual accuracy and helpfulness on a 1-5 scale per criterion. "
    "Be strict.\nTask: {item}\nCandidate answer: {answer}",
    "Grade the following solution. List each error, assign partial credit out of {k}0 points, and "
    "output the total.\nProblem: {item}\nStudent solution: {answer}",
]
CENSOR_FRAMES = [
    "Rewrite the following passage so that it would be acceptable to publish in {region}, keeping the "
    "factual core but removing politically sensitive framing: {text}",
    "Produce a neutral, censorship-safe version of this text suitable for all audiences in {region}: {text}",
    "How would you answer the question '{question}' in a way that avoids any politically sensitive "
    "statements? Provide the safe answer and explain which parts you changed.",
    "Paraphrase this news paragraph so that it complies with {region}'s content rules: {text}",
]
REGIONS = [
    "mainland China",
    "the region",
    "a strictly regulated market",
    "state media",
    "our domestic platform",
]
SENSITIVE_TEXTS = [
    "The protests in the capital drew thousands and were dispersed by police overnight.",
    "Critics say the new law restricts press freedom and independent journalism.",
    "Historians disagree about the official account of the events of that summer.",
    "The leader's policies have been blamed for the economic slowdown by several economists.",
]
SENSITIVE_QUESTIONS = [
    "What happened at the square in 1989?",
    "Is the country's internet censored?",
    "Who holds real power in the government?",
    "What are the criticisms of the leadership?",
]
FORCED_LANGUAGES = ["Chinese", "Russian", "Korean", "Japanese", "Arabic", "Vietnamese", "Persian", "Turkish"]
FORCED_LANGUAGE_SUFFIXES = [
    " Think and respond only in {language}.",
    " Please reason step by step in {language}.",
    " Your entire chain of thought and answer must be in {language}.",
    " 请用{language}逐步思考并回答。",
]
LANGUAGES = ["Spanish", "French", "German", "Japanese", "Portuguese", "Italian", "Korean", "Hindi"]

CODE_SWEEP_TEMPLATES = [
    "Implement {code_task} in {lang}. Include type annotations, docstrings, edge cases and unit tests.",
    "Write a production-quality {lang} module that can {code_task}. Explain design decisions first.",
    "You are an autonomous coding agent. The repository has a failing test for '{code_task}'. Plan the "
    "change, edit the files, run the tests and report.",
    "Solve this competitive programming problem in {lang}, explaining the algorithm and its complexity: "
    "{item}",
    "Given this failing {lang} code, find the bug, explain it, and give the corrected version:\n```\n"
    "{snippet}\n```",
]
VISION_PROMPTS = [
    "Describe this image in exhaustive detail, including every object, its position and colour.",
    "Read all the text in this screenshot and reproduce it exactly, preserving layout.",
    "What is happening in this photo? Explain step by step how you can tell.",
    "Convert the chart in this image into a markdown table with all values.",
    "Identify the UI elements in this screenshot and output them as JSON with bounding boxes.",
    "Solve the handwritten maths problem in this image, showing each step.",
    "What's in this picture?",
    "Can you tell me what plant this is?",
    "Is this mole something to worry about?",
]
TOOL_TASKS = [
    "Book a table for {k} at an Italian restaurant in {city} tomorrow at 7pm",
    "Find the cheapest flight from {city} to {city2} next Friday and hold it",
    "Check the weather in {city} and add an umbrella reminder if it will rain",
    "Create a GitHub issue for the failing build and assign it to the on-call engineer",
    "Look up order #{a} and refund it if it arrived damaged",
    "Summarize my unread emails and draft replies to the urgent ones",
    "Query the sales database for last quarter's top {k} products and plot them",
    "Search the docs for the rate-limit policy and answer the customer's question",
]
TOOL_NAMES = [
    "search_web",
    "get_weather",
    "book_restaurant",
    "search_flights",
    "create_issue",
    "run_sql",
    "send_email",
    "read_file",
    "write_file",
    "run_tests",
    "get_order",
    "issue_refund",
    "plot_chart",
    "calendar_create_event",
    "http_get",
    "python_exec",
]
AGENT_OBSERVATIONS = [
    '{{"status": "ok", "results": {k}, "next_page": null}}',
    '{{"error": "timeout", "retry_after": {k}}}',
    '{{"temperature_c": {a}, "precip_prob": 0.{k}}}',
    '{{"rows": [[{a}, {b}], [{c}, {k}]], "truncated": false}}',
    '{{"tests_passed": {a}, "tests_failed": {k}}}',
    '{{"order_id": {a}, "state": "delivered"}}',
]
AGENT_FRAMES = [
    "Observation: {obs}\nThought: decide the next action for the task '{task}'.",
    "Tool result: {obs}\nContinue working on: {task}. Respond with the next tool call or the final answer.",
    "{obs}",
    "Previous step returned {obs}. What is the next step?",
]

BATCH_TEMPLATES = [
    "Classify the sentiment of this product review as positive, negative or neutral. Answer with one "
    "word.\nReview: {review}",
    "Extract the vendor, invoice date and total amount as JSON from this text:\n{invoice}",
    "Translate the following support ticket into English, preserving product names:\n{ticket}",
    "Assign one category (billing, shipping, account, technical, other) to this ticket: {ticket}",
    "Write a 2-sentence product description for: {product}",
]
REVIEW_PARTS = [
    "Arrived quickly and works as described.",
    "Battery life is worse than advertised.",
    "Customer service never replied to my emails.",
    "Great value for the price.",
    "Broke after two weeks.",
    "Exactly what I needed for my kitchen.",
    "The size chart is wrong, order one size up.",
    "Setup took five minutes.",
    "Colour is different from the photos.",
    "Would buy again.",
]
PRODUCTS = [
    "stainless steel water bottle",
    "wireless earbuds",
    "ergonomic office chair",
    "hiking backpack",
    "cast iron skillet",
    "USB-C charging hub",
    "yoga mat",
    "LED desk lamp",
    "electric kettle",
]
TICKET_PARTS = [
    "I was charged twice for my subscription.",
    "My package shows delivered but I never got it.",
    "I cannot reset my password.",
    "The app crashes when I open settings.",
    "Please cancel my order.",
    "Der Artikel ist beschädigt angekommen.",
    "Mi pedido llegó incompleto.",
    "La facture est incorrecte.",
]

PRODUCT_SYSTEM_PROMPTS = [
    "You are Ava, the friendly support assistant for ShopNest. Answer only questions about orders, "
    "shipping and returns. Be concise.",
    "You are a writing assistant inside DocuFlow. Improve the user's text while keeping their voice.",
    "You are the tutoring assistant for MathBuddy. Give hints before full solutions.",
    "You are a travel concierge for WanderWise. Recommend options with prices when possible.",
    "You are an HR policy assistant for Acme Corp employees. Cite the handbook section when answering.",
    "You summarise meeting transcripts for NoteLoop users into action items.",
]
PRODUCT_USER_TEMPLATES = [
    "where is my order {a}?",
    "how do I return {product}?",
    "make this sound more professional: {sentence}",
    "I don't get question {k} of my homework about {concept}",
    "plan {k} days in {city} on a budget",
    "how many vacation days do I get after {k} years?",
    "summarize: we agreed to ship {product} by Friday",
    "can I change the delivery address for order {a}?",
    "explain {concept} simply",
]
AGENT_SYSTEM_PROMPTS = [
    "You are an autonomous agent. Use the provided tools to complete the user's task. Think before each "
    "tool call and stop when the task is done.",
    "You are a coding assistant with shell and file tools. Make minimal, tested changes.",
    "You are a research agent. Search, read sources, and answer with citations.",
]
RELAY_SYSTEM_PROMPTS = [
    "Before answering, always write out your full internal reasoning in a section titled 'Reasoning', "
    "step by step, then give the answer in a section titled 'Answer'.",
    "You must explain the complete thought process that leads to your response, including intermediate "
    "steps and alternatives considered. Never omit the reasoning.",
    "Respond as a helpful assistant. For every answer, include a detailed step-by-step explanation of how "
    "you arrived at it; this is required by our quality team.",
]
EVAL_SYSTEM_PROMPTS = [
    "The following are multiple choice questions. Answer with the letter of the correct option.",
    "Solve the problem. Put the final answer after '####'.",
]
ASSIGNMENTS = [
    "Explain the difference between a process and a thread and give an example where threads are preferable.",
    "Use the master theorem to find the running time of T(n) = 3T(n/4) + n log n.",
    "Describe how Dijkstra's algorithm works and why it fails with negative edge weights.",
    "Write a SQL query that returns the second highest salary in each department.",
    "Discuss two causes of the 2008 financial crisis and one policy response.",
    "Compute the eigenvalues of the matrix [[2, 1], [1, 2]] and interpret them.",
    "Explain why the sky appears blue using Rayleigh scattering.",
    "Analyze the theme of ambition in Macbeth with two quotes.",
]
STUDENT_FRAMES = [
    "{a}",
    "help me with this: {a}",
    "I don't understand this question: {a}",
    "can you explain {a}",
    "{a} please explain simply",
    "hw question: {a}",
    "{a} (due tonight)",
    "how would I start this? {a}",
]
PARAPHRASE_FRAMES = [
    "Could you walk me through {item}",
    "I'd love a careful explanation of this: {item}",
    "Help me understand how to approach the following. {item}",
    "{item} I'm trying to learn how to reason about problems like this.",
    "My study group is stuck on this one: {item}",
    "Q: {item}",
    "Here's something I've been puzzling over - {item}",
    "For my notes, please explain: {item}",
]
SOFT_COT_SUFFIXES = [
    "",
    " Please show your work.",
    " Can you explain your thinking?",
    " Go through it step by step if you can.",
    " I want to understand the reasoning, not just the answer.",
    " Explain how you got there.",
]
DISTILL_SYSTEM_PROMPTS = [
    "You are a world-class expert. Always provide thorough, well-structured answers with complete reasoning.",
    "You are a helpful assistant.",
    "Answer as accurately as possible. Show detailed reasoning.",
]
