// A menu script with a bug on line 3 (for the console-error evidence test).
var menu = document.querySelector('nav');
menu.classList.add('open');
