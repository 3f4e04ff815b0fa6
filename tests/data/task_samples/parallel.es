El gato duerme en el sofá.
Mañana vamos al mercado.
Gracias por tu ayuda.
